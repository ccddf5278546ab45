package structs

import "time"

// QueryOptions make a read a blocking query: it returns once the index it
// watches passes MinQueryIndex, or after MaxQueryTime.
type QueryOptions struct {
	MinQueryIndex uint64
	MaxQueryTime  time.Duration
	AllowStale    bool
}

// NodeSpecificRequest names one node and authenticates as it.
type NodeSpecificRequest struct {
	NodeID   string
	SecretID string
	QueryOptions
}

// GenericResponse is the reply of a write.
type GenericResponse struct {
	Index uint64
}

// NodeUpdateResponse is the reply to Register and UpdateStatus.
type NodeUpdateResponse struct {
	// HeartbeatTTL is how long the client may wait before its next heartbeat.
	HeartbeatTTL    time.Duration
	EvalIDs         []string
	NodeModifyIndex uint64
	Index           uint64
}

// NodeClientAllocsResponse is the reply to GetClientAllocs: the node's allocs
// and the AllocModifyIndex of each, so the client pulls only what changed.
type NodeClientAllocsResponse struct {
	Allocs map[string]uint64
	Index  uint64
}

// AllocUpdateResponse is the reply to UpdateAlloc: the write's index and the
// allocs that were skipped because of an honest race (rule 7).
type AllocUpdateResponse struct {
	Index   uint64
	Skipped []*AllocUpdateSkip
}
