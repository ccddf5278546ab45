// Package structs is rejoin's data model: nodes, allocations and their
// AllocState history, jobs and their disconnect policy, evaluations, the
// commands that change the store, and the msgpack codec they travel in.
//
// Field names follow HashiCorp Nomad's so that Nomad-encoded data decodes
// into these types unchanged. The package imports nothing else from rejoin
// and holds only pure helpers: no clocks, no I/O.
package structs
