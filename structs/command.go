package structs

import (
	"fmt"
	"time"
)

// MessageType identifies a command: a typed write to the store. Commands are
// encoded as the msgpack of their payload struct; the store applies them at
// strictly increasing indexes, so a recorded sequence replays exactly.
type MessageType uint8

// IgnoreUnknownTypeFlag marks a command that a store which does not know its
// type may skip instead of failing (for rolling upgrades of replicated stores).
const IgnoreUnknownTypeFlag MessageType = 128

// Command types. The numbers are part of the command log and snapshot formats:
// never renumber, only append.
const (
	NodeRegisterRequestType      MessageType = 0
	NodeDeregisterRequestType    MessageType = 1
	NodeUpdateStatusRequestType  MessageType = 2
	JobRegisterRequestType       MessageType = 3
	JobDeregisterRequestType     MessageType = 4
	EvalUpdateRequestType        MessageType = 5
	AllocClientUpdateRequestType MessageType = 6
	ApplyPlanResultsRequestType  MessageType = 7
)

var messageTypeNames = map[MessageType]string{
	NodeRegisterRequestType:      "NodeRegister",
	NodeDeregisterRequestType:    "NodeDeregister",
	NodeUpdateStatusRequestType:  "NodeUpdateStatus",
	JobRegisterRequestType:       "JobRegister",
	JobDeregisterRequestType:     "JobDeregister",
	EvalUpdateRequestType:        "EvalUpdate",
	AllocClientUpdateRequestType: "AllocClientUpdate",
	ApplyPlanResultsRequestType:  "ApplyPlanResults",
}

func (t MessageType) String() string {
	if n, ok := messageTypeNames[t&^IgnoreUnknownTypeFlag]; ok {
		return n
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// NewCommandPayload returns a pointer to a fresh payload struct for t, or
// nil when t is not a known command type.
func NewCommandPayload(t MessageType) any {
	switch t &^ IgnoreUnknownTypeFlag {
	case NodeRegisterRequestType:
		return &NodeRegisterRequest{}
	case NodeDeregisterRequestType:
		return &NodeDeregisterRequest{}
	case NodeUpdateStatusRequestType:
		return &NodeUpdateStatusRequest{}
	case JobRegisterRequestType:
		return &JobRegisterRequest{}
	case JobDeregisterRequestType:
		return &JobDeregisterRequest{}
	case EvalUpdateRequestType:
		return &EvalUpdateRequest{}
	case AllocClientUpdateRequestType:
		return &AllocUpdateRequest{}
	case ApplyPlanResultsRequestType:
		return &ApplyPlanResultsRequest{}
	}
	return nil
}

// NodeRegisterRequest creates a node, or updates an existing node's fields
// other than its status (rule 6: re-registering never changes the status).
type NodeRegisterRequest struct {
	Node *Node
	// UpdatedAt is the server time of the write, unix nanoseconds.
	UpdatedAt int64
}

// NodeDeregisterRequest removes nodes (garbage collection).
type NodeDeregisterRequest struct {
	NodeIDs []string
}

// NodeUpdateStatusRequest is a heartbeat on the wire and, when the status
// changes, the command that records the change together with the
// evaluations it creates (one write).
type NodeUpdateStatusRequest struct {
	NodeID            string
	SecretID          string // RPC only; blank in the command log
	Status            string
	StatusDescription string
	// UpdatedAt is the server time of the change, unix nanoseconds.
	UpdatedAt int64
	Evals     []*Evaluation
}

// JobRegisterRequest creates or updates a job, with its evaluation.
type JobRegisterRequest struct {
	Job  *Job
	Eval *Evaluation
	// UpdatedAt is the server time of the write, unix nanoseconds.
	UpdatedAt int64
}

// JobDeregisterRequest stops a job (sets Stop), or removes it with Purge.
type JobDeregisterRequest struct {
	Namespace string
	JobID     string
	Purge     bool
	Eval      *Evaluation
	UpdatedAt int64
}

// EvalUpdateRequest upserts evaluations (create, complete, cancel).
type EvalUpdateRequest struct {
	Evals []*Evaluation
}

// AllocUpdateRequest carries a client's report of its allocations: on the
// wire from Node.UpdateAlloc, and as the AllocClientUpdate command. Only
// ClientStatus, ClientDescription and TaskStates of each Alloc are used.
type AllocUpdateRequest struct {
	NodeID   string
	SecretID string // RPC only; blank in the command log
	Alloc    []*Allocation
	// Evals are created in the same write (reconnect, alloc-failure).
	Evals []*Evaluation
	// UpdatedAt is the server time of the write, unix nanoseconds.
	UpdatedAt int64
}

// Reasons an alloc of a client update is skipped while the rest applies.
const (
	// SkipUnknownAlloc: the server no longer knows the alloc (garbage
	// collected); the client learns its fate from GetClientAllocs.
	SkipUnknownAlloc = "unknown-alloc"
	// SkipClientTerminal: the server holds the alloc as client-terminal
	// (e.g. lost while the client was cut off); it is never resurrected.
	SkipClientTerminal = "client-terminal"
	// SkipNodeNotReady: the alloc's node was not ready when the write applied.
	SkipNodeNotReady = "node-not-ready"
	// SkipWrongNode: the alloc belongs to another node than the request's.
	SkipWrongNode = "wrong-node"
)

// AllocUpdateSkip is an alloc of a client update that was not applied, and why.
type AllocUpdateSkip struct {
	AllocID string
	NodeID  string
	Reason  string
}

// AllocUpdateResult is what applying an AllocClientUpdate did.
type AllocUpdateResult struct {
	Applied []string
	Skipped []*AllocUpdateSkip
}

// ApplyPlanResultsRequest applies one evaluation's decisions atomically.
type ApplyPlanResultsRequest struct {
	// EvalID is the evaluation the plan completes; it is marked complete in
	// the same write. Optional.
	EvalID    string
	Namespace string
	JobID     string
	// Now is the server time stamped on every AllocState this plan appends.
	Now time.Time
	// AllocsPlaced are new allocations; one with PreviousAllocation sets
	// that allocation's NextAllocation.
	AllocsPlaced []*Allocation
	// AllocsStopped get DesiredStatus stop, their description and, when
	// ClientStatus is set, that status plus an AllocState for it.
	AllocsStopped []*AllocStopUpdate
	// AllocsDisconnected become ClientStatus unknown with an AllocState
	// unknown@Now and the given FollowupEvalID.
	AllocsDisconnected []*AllocFollowupUpdate
	// AllocsReconnected get an AllocState with their current ClientStatus
	// at Now and lose their FollowupEvalID.
	AllocsReconnected []string
	// AllocsUpdated move in place to a new job version.
	AllocsUpdated []*AllocInPlaceUpdate
	// AllocFollowups set FollowupEvalID on allocations that wait for a
	// delayed reschedule.
	AllocFollowups []*AllocFollowupUpdate
	// Evals are created or updated in the same write (follow-ups).
	Evals []*Evaluation
	// ReadIndex, when not 0, makes the write conditional on the state the
	// plan was computed from: the store index of that snapshot. The store
	// checks, inside the write, whether the job, any of its allocations,
	// or a node one of them is on or the plan places on (for a system job,
	// any node) changed after it; if so it rejects the whole plan with
	// ErrPlanStale and writes nothing, and the plan is computed again. A
	// check made before the write would leave a window in which a
	// client's update (the kept original failing, say) lands unseen and
	// the plan stops the only other copy. 0 writes the plan whatever
	// changed since.
	ReadIndex uint64
}

// AllocStopUpdate stops one allocation.
type AllocStopUpdate struct {
	AllocID      string
	ClientStatus string // lost, failed or empty
	Description  string
}

// AllocFollowupUpdate ties an allocation to a follow-up evaluation.
type AllocFollowupUpdate struct {
	AllocID        string
	FollowupEvalID string
}

// AllocInPlaceUpdate moves an allocation to a new job version in place.
type AllocInPlaceUpdate struct {
	AllocID    string
	JobVersion uint64
}
