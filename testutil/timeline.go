package testutil

import (
	"time"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Timeline records, per node, its status over simulated time and, per
// alloc, its client status: what an operator wants to see after an
// incident.
type Timeline struct {
	Start  time.Time
	End    time.Time
	Nodes  map[string][]TimelinePoint
	Allocs map[string]*AllocTimeline
}

// TimelinePoint is a status from At on.
type TimelinePoint struct {
	At     time.Time
	Status string
}

// AllocTimeline is one alloc's history.
type AllocTimeline struct {
	ID, Name, NodeID string
	Points           []TimelinePoint
}

func newTimeline(start time.Time) *Timeline {
	return &Timeline{Start: start, Nodes: map[string][]TimelinePoint{}, Allocs: map[string]*AllocTimeline{}}
}

func (t *Timeline) nodePoint(now time.Time, id, status string) {
	pts := t.Nodes[id]
	if n := len(pts); n > 0 && pts[n-1].Status == status {
		return
	}
	t.Nodes[id] = append(pts, TimelinePoint{At: now, Status: status})
}

func (t *Timeline) allocPoint(now time.Time, a *structs.Allocation) {
	status := a.ClientStatus
	if a.ServerTerminalStatus() && !a.ClientTerminalStatus() {
		status += "/stop"
	}
	at := t.Allocs[a.ID]
	if at == nil {
		at = &AllocTimeline{ID: a.ID, Name: a.Name, NodeID: a.NodeID}
		t.Allocs[a.ID] = at
	}
	if n := len(at.Points); n > 0 && at.Points[n-1].Status == status {
		return
	}
	at.Points = append(at.Points, TimelinePoint{At: now, Status: status})
}

func (t *Timeline) observe(now time.Time, req any, store *state.Store) {
	t.End = now
	var ids []string
	switch cmd := req.(type) {
	case *structs.NodeRegisterRequest:
		if cmd.Node != nil {
			if n, _ := store.NodeByID(nil, cmd.Node.ID); n != nil {
				t.nodePoint(now, n.ID, n.Status)
			}
		}
	case *structs.NodeUpdateStatusRequest:
		t.nodePoint(now, cmd.NodeID, cmd.Status)
	case *structs.AllocUpdateRequest:
		for _, a := range cmd.Alloc {
			ids = append(ids, a.ID)
		}
	case *structs.ApplyPlanResultsRequest:
		for _, a := range cmd.AllocsPlaced {
			ids = append(ids, a.ID)
		}
		for _, s := range cmd.AllocsStopped {
			ids = append(ids, s.AllocID)
		}
		for _, s := range cmd.AllocsDisconnected {
			ids = append(ids, s.AllocID)
		}
		ids = append(ids, cmd.AllocsReconnected...)
	}
	for _, id := range ids {
		if a, _ := store.AllocByID(nil, id); a != nil {
			t.allocPoint(now, a)
		}
	}
}
