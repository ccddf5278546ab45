package structs

import "fmt"

// Node statuses.
const (
	NodeStatusInit         = "initializing"
	NodeStatusReady        = "ready"
	NodeStatusDown         = "down"
	NodeStatusDisconnected = "disconnected"
)

// Node scheduling eligibility.
const (
	NodeSchedulingEligible   = "eligible"
	NodeSchedulingIneligible = "ineligible"
)

// Node is a client machine that runs allocations.
type Node struct {
	ID                       string
	SecretID                 string
	Name                     string
	Datacenter               string
	NodePool                 string
	Status                   string
	StatusDescription        string
	StatusUpdatedAt          int64 // unix seconds, as Nomad
	SchedulingEligibility    string
	Drain                    bool
	LastMissedHeartbeatIndex uint64
	LastAllocUpdateIndex     uint64
	CreateIndex              uint64
	ModifyIndex              uint64
}

// Copy returns a copy, or nil for nil.
func (n *Node) Copy() *Node {
	if n == nil {
		return nil
	}
	c := *n
	return &c
}

// Ready reports whether the node may run and report allocations.
func (n *Node) Ready() bool { return n.Status == NodeStatusReady }

// Eligible reports whether new allocations may be placed on the node.
func (n *Node) Eligible() bool {
	return n.Status == NodeStatusReady && !n.Drain &&
		(n.SchedulingEligibility == "" || n.SchedulingEligibility == NodeSchedulingEligible)
}

// ValidNodeStatus reports whether s is a known node status.
func ValidNodeStatus(s string) bool {
	switch s {
	case NodeStatusInit, NodeStatusReady, NodeStatusDown, NodeStatusDisconnected:
		return true
	}
	return false
}

// ShouldDrainNode reports whether a node in status s has stopped answering:
// its allocations need the reconciler's attention.
func ShouldDrainNode(s string) bool {
	return s == NodeStatusDown || s == NodeStatusDisconnected
}

// nodeTransitions is the complete list of node status changes (ARCHITECTURE
// rule 6). A "transition" to the same status is not a change and is allowed.
var nodeTransitions = map[string][]string{
	NodeStatusInit:         {NodeStatusReady, NodeStatusDown},
	NodeStatusReady:        {NodeStatusDisconnected, NodeStatusDown},
	NodeStatusDisconnected: {NodeStatusReady, NodeStatusDown},
	NodeStatusDown:         {NodeStatusReady},
}

// ValidateNodeTransition returns nil when a node may move from status from to
// status to, and a *NodeTransitionError (matching ErrInvalidTransition or
// ErrInvalidNodeStatus) otherwise. Staying in the same status is allowed, and
// a new node (from == "") may start in any valid status.
func ValidateNodeTransition(from, to string) error {
	if !ValidNodeStatus(to) || (from != "" && !ValidNodeStatus(from)) {
		return &NodeTransitionError{From: from, To: to, invalidStatus: true}
	}
	if from == "" || from == to {
		// A node being created has no status to move from.
		return nil
	}
	for _, ok := range nodeTransitions[from] {
		if ok == to {
			return nil
		}
	}
	return &NodeTransitionError{From: from, To: to}
}

// NodeTransitionError is a node status change that rule 6 forbids.
type NodeTransitionError struct {
	NodeID        string
	From, To      string
	invalidStatus bool
}

func (e *NodeTransitionError) Error() string {
	if e.invalidStatus {
		return fmt.Sprintf("node %q: invalid node status %q (from %q)", e.NodeID, e.To, e.From)
	}
	return fmt.Sprintf("node %q: invalid status transition %s -> %s", e.NodeID, e.From, e.To)
}

// Is makes the error match ErrInvalidTransition, or ErrInvalidNodeStatus for
// a status that does not exist.
func (e *NodeTransitionError) Is(target error) bool {
	if e.invalidStatus {
		return target == ErrInvalidNodeStatus
	}
	return target == ErrInvalidTransition
}
