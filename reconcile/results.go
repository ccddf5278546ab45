package reconcile

import (
	"slices"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Input is everything Compute looks at. Compute never modifies it.
type Input struct {
	Job *structs.Job
	// Allocs holds every allocation of the job, in any status.
	Allocs []*structs.Allocation
	// Nodes holds the nodes the allocations reference; for system jobs all
	// nodes. An alloc whose NodeID is absent is on a node that was garbage
	// collected.
	Nodes map[string]*structs.Node
	// Now is server time: the only clock Compute knows.
	Now time.Time
	// EvalID is the evaluation being processed (may be empty).
	EvalID string
}

// Results are the decisions of one Compute call. Every list is non-nil and
// sorted: Place by Name then PreviousAllocation, Stop, Disconnect, Reconnect
// and Update by AllocID, FollowUps by WaitUntil.
type Results struct {
	Place      []Placement     `json:"Place"`
	Stop       []Stop          `json:"Stop"`
	Disconnect []AllocDecision `json:"Disconnect"`
	Reconnect  []AllocDecision `json:"Reconnect"`
	Update     []AllocDecision `json:"Update"`
	FollowUps  []FollowUp      `json:"FollowUps"`
}

// Placement asks for a new allocation.
type Placement struct {
	Name               string
	TaskGroup          string
	PreviousAllocation string
	// NodeID is set for system jobs only: the node the alloc belongs on.
	NodeID string `json:",omitempty"`
	Reason string
}

// Stop asks for an allocation to stop. ClientStatus is lost, failed or
// empty (leave the client's status alone).
type Stop struct {
	AllocID      string
	ClientStatus string
	Description  string
	Reason       string
}

// AllocDecision is a Disconnect, Reconnect or Update of one allocation.
type AllocDecision struct {
	AllocID string
	Reason  string
}

// FollowUp is an evaluation to run at WaitUntil.
type FollowUp struct {
	TriggeredBy string
	WaitUntil   time.Time
	TaskGroup   string `json:",omitempty"`
	// AllocIDs are the allocations whose FollowupEvalID becomes this
	// evaluation's ID.
	AllocIDs []string `json:",omitempty"`
	Reason   string
}

func newResults() *Results {
	return &Results{
		Place:      []Placement{},
		Stop:       []Stop{},
		Disconnect: []AllocDecision{},
		Reconnect:  []AllocDecision{},
		Update:     []AllocDecision{},
		FollowUps:  []FollowUp{},
	}
}

// sort puts every list in its documented order. Ties are broken on every
// remaining field so the order never depends on how decisions were made.
func (r *Results) sort() {
	// Comparators short-circuit: cmp.Or would evaluate every comparison.
	sortPlacements(r.Place)
	slices.SortFunc(r.Stop, func(a, b Stop) int { return strings.Compare(a.AllocID, b.AllocID) })
	byID := func(a, b AllocDecision) int { return strings.Compare(a.AllocID, b.AllocID) }
	slices.SortFunc(r.Disconnect, byID)
	slices.SortFunc(r.Reconnect, byID)
	slices.SortFunc(r.Update, byID)
	slices.SortFunc(r.FollowUps, func(a, b FollowUp) int {
		if c := a.WaitUntil.Compare(b.WaitUntil); c != 0 {
			return c
		}
		if c := strings.Compare(a.TriggeredBy, b.TriggeredBy); c != 0 {
			return c
		}
		return strings.Compare(a.TaskGroup, b.TaskGroup)
	})
}

// sortPlacements orders by Name, PreviousAllocation, TaskGroup, NodeID. It
// sorts a permutation and then moves each placement once: placements are
// large, and a mass disconnect makes thousands.
func sortPlacements(ps []Placement) {
	if len(ps) < 2 {
		return
	}
	perm := make([]int32, len(ps))
	for i := range perm {
		perm[i] = int32(i)
	}
	slices.SortFunc(perm, func(x, y int32) int {
		a, b := &ps[x], &ps[y]
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := strings.Compare(a.PreviousAllocation, b.PreviousAllocation); c != 0 {
			return c
		}
		if c := strings.Compare(a.TaskGroup, b.TaskGroup); c != 0 {
			return c
		}
		return strings.Compare(a.NodeID, b.NodeID)
	})
	sorted := make([]Placement, len(ps))
	for i, p := range perm {
		sorted[i] = ps[p]
	}
	copy(ps, sorted)
}
