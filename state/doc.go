// Package state is rejoin's in-memory store: a go-memdb database of nodes,
// jobs, allocations and evaluations, changed only by commands (a typed,
// msgpack-encoded write applied at a strictly increasing index), read through
// lock-free snapshots and blocking queries. It knows nothing of timers, RPC or
// decisions.
package state
