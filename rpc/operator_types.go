package rpc

import (
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// NodeGetRequest names one node by ID or unique ID prefix.
type NodeGetRequest struct {
	NodeID string
}

// NodeListRequest lists nodes, optionally only those whose ID starts with
// Prefix.
type NodeListRequest struct {
	Prefix string
}

// NodeInfo is a node as an operator sees it. Node.SecretID is always
// blank.
type NodeInfo struct {
	Node *structs.Node
	// LastHeartbeat is when this server last accepted a heartbeat from
	// the node (zero: none since it became leader).
	LastHeartbeat time.Time
	// HeartbeatTTL is the TTL the server last told the client.
	HeartbeatTTL time.Duration
	// HeartbeatDeadline is when the server will treat the node as missing
	// (zero: not tracked, e.g. down, or this server is not leader).
	HeartbeatDeadline time.Time
	// AllocsByStatus counts the node's allocations by client status.
	AllocsByStatus map[string]int
	// Allocs is set by Node.Get only.
	Allocs []*AllocStub
}

// NodeListResponse lists nodes sorted by ID.
type NodeListResponse struct {
	Nodes []*NodeInfo
	Index uint64
}

// AllocGetRequest names one allocation by ID or unique ID prefix.
type AllocGetRequest struct {
	AllocID string
}

// DecisionInfo is the last reconciler decision applied to an allocation.
type DecisionInfo struct {
	Kind   string
	Reason string
	EvalID string
	Index  uint64
	// Time is the server time the decision was made at.
	Time time.Time
}

// AllocInfo is an allocation with what explains it: its full record
// (AllocStates included), its replacement chain, and the last decision.
type AllocInfo struct {
	Alloc *structs.Allocation
	// Chain is the replacement chain through the allocation, oldest
	// first, the allocation itself included.
	Chain []*AllocStub
	// LastDecision is nil when this server has made none about it since
	// it started.
	LastDecision *DecisionInfo
	Index        uint64
}

// ServerStatusRequest asks for the server's status.
type ServerStatusRequest struct{}

// ServerStatusResponse summarises the state: its index, a digest of all of
// it (state.StateHash, hex) and object counts.
type ServerStatusResponse struct {
	Leader        bool
	LatestIndex   uint64
	StateHash     string
	Nodes         int
	NodesByStatus map[string]int
	Jobs          int
	Allocs        int
	Evals         int
	PendingEvals  int
}
