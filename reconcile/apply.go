package reconcile

import (
	"cmp"
	"crypto/rand"
	"fmt"
	"slices"

	"github.com/rejoinhq/rejoin/structs"
)

// Writer is what Apply writes through; *state.Store satisfies it.
type Writer interface {
	ApplyCommand(t structs.MessageType, req any) (uint64, any, error)
}

// ApplyConfig tunes Apply.
type ApplyConfig struct {
	// Placer picks nodes for placements; nil means DefaultPlacer.
	Placer Placer
	// NewID names new allocations and evaluations; nil means random UUIDs.
	// Simulations pass a seeded generator so runs replay exactly.
	NewID func() string
	// ReadIndex, when not 0, is the store index of the snapshot the input
	// was read from: Apply's write is then refused, with an error matching
	// structs.ErrPlanStale and nothing written, if the job, its
	// allocations or their nodes changed since (see
	// structs.ApplyPlanResultsRequest). 0 writes whatever changed.
	ReadIndex uint64
}

// ApplyOutcome is what Apply wrote.
type ApplyOutcome struct {
	// Index is the store index of the command (0 when nothing was written).
	Index uint64
	// Placed and Unplaced count the placements that got a node and those
	// for which the placer found none (skipped, not written).
	Placed, Unplaced int
	// FollowUpEvalIDs are the IDs of the follow-up evaluations created, in
	// the order of Results.FollowUps.
	FollowUpEvalIDs []string
	// Blocked lists the placements that were skipped for want of a node.
	Blocked []Placement
	// PlacedAllocs are the allocations the placements created, index for
	// index with Results.Place: nil where the placement found no node.
	// They are what the command wrote; read them, never change them.
	PlacedAllocs []*structs.Allocation
}

// Apply turns res, the decisions Compute made for in, into ONE
// ApplyPlanResults command and writes it through w. Server time is in.Now.
// nodes are the candidates for placements (normally every node of the
// store, in any order: the Placer gets them sorted by ID). Placements for
// which no node fits are skipped and reported in the outcome; everything
// else is written atomically, and in.EvalID (if set) is marked complete in
// the same write. On error nothing was written.
func Apply(w Writer, nodes []*structs.Node, in Input, res *Results, cfg ApplyConfig) (ApplyOutcome, error) {
	if !slices.IsSortedFunc(nodes, byNodeID) {
		// Placers rely on ID order for their tie-break.
		nodes = slices.Clone(nodes)
		slices.SortFunc(nodes, byNodeID)
	}
	req, out, err := buildPlan(nodes, in, res, cfg)
	if err != nil {
		return ApplyOutcome{}, err
	}
	req.ReadIndex = cfg.ReadIndex
	idx, _, err := w.ApplyCommand(structs.ApplyPlanResultsRequestType, req)
	if err != nil {
		return ApplyOutcome{}, fmt.Errorf("reconcile: apply plan of job %q (eval %q): %w", req.JobID, req.EvalID, err)
	}
	out.Index = idx
	return out, nil
}

// buildPlan builds the command for res without writing it. nodes must be
// sorted by ID (the store lists them so).
func buildPlan(nodes []*structs.Node, in Input, res *Results, cfg ApplyConfig) (*structs.ApplyPlanResultsRequest, ApplyOutcome, error) {
	var out ApplyOutcome
	if in.Job == nil {
		return nil, out, fmt.Errorf("%w: reconcile: apply needs a job", structs.ErrInvalidRequest)
	}
	if res == nil {
		res = newResults()
	}
	if in.Now.IsZero() && res.decisions() > 0 {
		return nil, out, fmt.Errorf("%w: reconcile: apply of job %q needs Now to stamp its decisions", structs.ErrInvalidRequest, in.Job.ID)
	}
	b := &planBuilder{
		in:     in,
		res:    res,
		job:    in.Job,
		ns:     in.Job.NamespacedID().Namespace,
		placer: cfg.Placer,
		newID:  cfg.NewID,
		req: &structs.ApplyPlanResultsRequest{
			EvalID:    in.EvalID,
			Namespace: in.Job.NamespacedID().Namespace,
			JobID:     in.Job.ID,
			Now:       in.Now,
		},
	}
	if b.placer == nil {
		b.placer = DefaultPlacer{}
	}
	if b.newID == nil {
		b.newID = newUUID
	}
	b.index()
	// Follow-ups first: disconnects need their evaluation IDs.
	b.followUps(&out)
	b.placements(nodes, &out)
	b.decisions()
	return b.req, out, nil
}

func byNodeID(a, b *structs.Node) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Compare(a.ID, b.ID)
}

// decisions counts what a result asks to change.
func (r *Results) decisions() int {
	return len(r.Place) + len(r.Stop) + len(r.Disconnect) + len(r.Reconnect) + len(r.Update) + len(r.FollowUps)
}

// planBuilder holds one buildPlan call's working state.
type planBuilder struct {
	in     Input
	res    *Results
	job    *structs.Job
	ns     string
	placer Placer
	newID  func() string
	req    *structs.ApplyPlanResultsRequest

	allocs        map[string]*structs.Allocation
	stopStatus    map[string]string // alloc ID -> the ClientStatus its Stop sets
	disconnecting map[string]string // alloc ID -> its max-disconnect-timeout eval ("" until known)
}

func (b *planBuilder) index() {
	b.allocs = make(map[string]*structs.Allocation, len(b.in.Allocs))
	for _, a := range b.in.Allocs {
		if a != nil {
			b.allocs[a.ID] = a
		}
	}
	b.stopStatus = make(map[string]string, len(b.res.Stop))
	for _, s := range b.res.Stop {
		b.stopStatus[s.AllocID] = s.ClientStatus
	}
	b.disconnecting = make(map[string]string, len(b.res.Disconnect))
	for _, d := range b.res.Disconnect {
		b.disconnecting[d.AllocID] = ""
	}
}

// followUps creates one pending evaluation per FollowUp and links its
// allocs: a disconnecting alloc points at its max-disconnect-timeout
// evaluation (the Disconnect carries it); any other alloc at the first
// follow-up naming it.
func (b *planBuilder) followUps(out *ApplyOutcome) {
	if len(b.res.FollowUps) == 0 {
		return
	}
	now := b.in.Now.UnixNano()
	linked := make(map[string]bool)
	for _, fu := range b.res.FollowUps {
		e := &structs.Evaluation{
			ID:                b.newID(),
			Namespace:         b.ns,
			Priority:          b.job.Priority,
			Type:              b.job.Type,
			TriggeredBy:       fu.TriggeredBy,
			JobID:             b.job.ID,
			Status:            structs.EvalStatusPending,
			StatusDescription: fu.Reason,
			WaitUntil:         fu.WaitUntil,
			PreviousEval:      b.in.EvalID,
			CreateTime:        now,
			ModifyTime:        now,
		}
		b.req.Evals = append(b.req.Evals, e)
		out.FollowUpEvalIDs = append(out.FollowUpEvalIDs, e.ID)
		for _, id := range fu.AllocIDs {
			if cur, ok := b.disconnecting[id]; ok {
				// Its FollowupEvalID must be the timeout that turns it
				// lost; a delayed-reschedule follow-up fires on its own.
				if cur == "" && fu.TriggeredBy == structs.EvalTriggerMaxDisconnectTimeout {
					b.disconnecting[id] = e.ID
				}
				continue
			}
			if linked[id] {
				continue
			}
			linked[id] = true
			b.req.AllocFollowups = append(b.req.AllocFollowups, &structs.AllocFollowupUpdate{AllocID: id, FollowupEvalID: e.ID})
		}
	}
	slices.SortFunc(b.req.AllocFollowups, func(x, y *structs.AllocFollowupUpdate) int { return cmp.Compare(x.AllocID, y.AllocID) })
}

// placements picks a node for each Placement and builds the new allocs.
func (b *planBuilder) placements(nodes []*structs.Node, out *ApplyOutcome) {
	if len(b.res.Place) == 0 {
		return
	}
	live := b.liveByNode()
	var byID map[string]*structs.Node
	for _, p := range b.res.Place {
		prev := b.allocs[p.PreviousAllocation]
		var nodeID string
		var score float64
		if p.NodeID != "" {
			// System placements name their node; it must still take work.
			if byID == nil {
				byID = make(map[string]*structs.Node, len(nodes))
				for _, n := range nodes {
					if n != nil {
						byID[n.ID] = n
					}
				}
			}
			if n := byID[p.NodeID]; n != nil && n.Eligible() {
				if id, s := b.placer.SelectNode(p, b.job, []*structs.Node{n}, live, ""); id == n.ID {
					nodeID, score = id, s
				}
			}
		} else {
			exclude := ""
			if prev != nil {
				exclude = prev.NodeID
			}
			nodeID, score = b.placer.SelectNode(p, b.job, nodes, live, exclude)
		}
		if nodeID == "" {
			out.Unplaced++
			out.Blocked = append(out.Blocked, p)
			out.PlacedAllocs = append(out.PlacedAllocs, nil)
			continue
		}
		live[nodeID]++
		out.Placed++
		a := b.newAlloc(p, prev, nodeID, score)
		b.req.AllocsPlaced = append(b.req.AllocsPlaced, a)
		out.PlacedAllocs = append(out.PlacedAllocs, a)
	}
}

// liveByNode counts the job's allocations that still run after this result
// on each node.
func (b *planBuilder) liveByNode() map[string]int {
	live := make(map[string]int)
	for _, a := range b.in.Allocs {
		if a == nil || a.TerminalStatus() {
			continue
		}
		if _, stopped := b.stopStatus[a.ID]; stopped {
			continue
		}
		live[a.NodeID]++
	}
	return live
}

// newAlloc builds a placed allocation. It starts with no AllocStates: the
// AllocState history is the server's record of status changes it decided
// or observed, and a new alloc inherits nothing from the one it replaces,
// so it can never look as if it were reconnecting.
func (b *planBuilder) newAlloc(p Placement, prev *structs.Allocation, nodeID string, score float64) *structs.Allocation {
	return &structs.Allocation{
		ID:                 b.newID(),
		Namespace:          b.ns,
		EvalID:             b.in.EvalID,
		Name:               p.Name,
		NodeID:             nodeID,
		JobID:              b.job.ID,
		JobVersion:         b.job.Version,
		TaskGroup:          p.TaskGroup,
		DesiredStatus:      structs.AllocDesiredStatusRun,
		ClientStatus:       structs.AllocClientStatusPending,
		PreviousAllocation: p.PreviousAllocation,
		Metrics:            &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: nodeID, NormScore: score}}},
		RescheduleTracker:  b.tracker(p, prev),
	}
}

// tracker returns the reschedule history of a placement: when it replaces
// an alloc that failed, was lost or is unknown, that alloc's events plus
// one for this reschedule (so reschedule attempts are bounded across the
// chain); otherwise none (a job update is not a reschedule).
func (b *planBuilder) tracker(p Placement, prev *structs.Allocation) *structs.RescheduleTracker {
	if prev == nil || !b.rescheduled(prev) {
		return nil
	}
	t := prev.RescheduleTracker.Copy()
	if t == nil {
		t = &structs.RescheduleTracker{}
	}
	policy := b.job.LookupTaskGroup(p.TaskGroup).EffectiveReschedulePolicy()
	t.Events = append(t.Events, &structs.RescheduleEvent{
		RescheduleTime: b.in.Now.UnixNano(),
		PrevAllocID:    prev.ID,
		PrevNodeID:     prev.NodeID,
		Delay:          policy.Delay,
	})
	return t
}

// rescheduled reports whether prev is failed, lost or unknown once this
// result applies.
func (b *planBuilder) rescheduled(prev *structs.Allocation) bool {
	if _, ok := b.disconnecting[prev.ID]; ok {
		return true
	}
	status := prev.ClientStatus
	if cs := b.stopStatus[prev.ID]; cs != "" {
		status = cs
	}
	switch status {
	case structs.AllocClientStatusFailed, structs.AllocClientStatusLost, structs.AllocClientStatusUnknown:
		return true
	}
	return false
}

// decisions copies the stop, disconnect, reconnect and update decisions.
func (b *planBuilder) decisions() {
	for _, s := range b.res.Stop {
		b.req.AllocsStopped = append(b.req.AllocsStopped, &structs.AllocStopUpdate{
			AllocID: s.AllocID, ClientStatus: s.ClientStatus, Description: s.Description,
		})
	}
	for _, d := range b.res.Disconnect {
		b.req.AllocsDisconnected = append(b.req.AllocsDisconnected, &structs.AllocFollowupUpdate{
			AllocID: d.AllocID, FollowupEvalID: b.disconnecting[d.AllocID],
		})
	}
	for _, r := range b.res.Reconnect {
		b.req.AllocsReconnected = append(b.req.AllocsReconnected, r.AllocID)
	}
	for _, u := range b.res.Update {
		b.req.AllocsUpdated = append(b.req.AllocsUpdated, &structs.AllocInPlaceUpdate{
			AllocID: u.AllocID, JobVersion: b.job.Version,
		})
	}
}

// newUUID returns a random RFC 4122 version 4 UUID, the ID format Nomad uses.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
