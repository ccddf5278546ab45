// Package nomad reads HashiCorp Nomad's FSM snapshots — a bare state.bin
// stream or a `nomad operator snapshot save` archive — into rejoin's data
// model, so recorded Nomad clusters can be replayed through the reconciler.
//
// Only nodes, jobs, evaluations and allocations (and the raft index) are
// kept; every other record type is stepped over. The reader never trusts
// lengths declared inside the stream: the whole state.bin is held in memory
// under a size cap and every msgpack value is bounds- and depth-checked
// before the codec sees it, so hostile input fails with a typed error
// instead of a huge allocation, a panic or a stack overflow.
package nomad
