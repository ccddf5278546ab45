// Package rpc serves the Node endpoints clients call (Register, UpdateStatus,
// UpdateAlloc, GetClientAllocs) with their ordering rules: node auth,
// per-node serialisation, alloc updates only from ready nodes, batching, and
// blocking queries; over an in-process transport and msgpack net/rpc on TCP.
package rpc
