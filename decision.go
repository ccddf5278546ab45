package rejoin

import (
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/metrics"
	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/rpc"
)

// Decision kinds.
const (
	KindPlace      = "place"
	KindStop       = "stop"
	KindDisconnect = "disconnect"
	KindReconnect  = "reconnect"
	KindUpdate     = "update"
	KindFollowUp   = "followup"
)

// Decision is one applied decision of the reconciler, for an embedder's
// audit log (WithDecisionHook). It is a value: the hook may keep it.
type Decision struct {
	Namespace string
	JobID     string
	// EvalID is the evaluation whose run made the decision.
	EvalID string
	// Kind is one of the Kind* constants.
	Kind string
	// AllocID is the allocation decided about: for a placement the new
	// allocation; for a follow-up one of the allocations waiting for it
	// ("" when it names none).
	AllocID string
	// Name, TaskGroup, NodeID and PreviousAllocation describe a placement.
	Name               string
	TaskGroup          string
	NodeID             string
	PreviousAllocation string
	// ClientStatus is what a Stop sets (lost, failed or empty).
	ClientStatus string
	// FollowUpEvalID and WaitUntil describe a follow-up evaluation.
	FollowUpEvalID string
	WaitUntil      time.Time
	// Reason says which rule decided, in words; Rule is its short label
	// (metrics.RuleOf: "row_9", "step_7", ...).
	Reason string
	Rule   string
	// Index is the store index of the write that applied it; Time the
	// server time it was made at.
	Index uint64
	Time  time.Time
}

// decisionsOf lists the decisions of one applied evaluation. A placement
// names the allocation it created (out.PlacedAllocs); placements that found
// no node are not decisions.
func decisionsOf(evalID string, in reconcile.Input, res *reconcile.Results, out reconcile.ApplyOutcome) []Decision {
	if res == nil || in.Job == nil {
		return nil
	}
	base := Decision{Namespace: in.Job.NamespacedID().Namespace, JobID: in.Job.ID, EvalID: evalID, Index: out.Index, Time: in.Now}
	var ds []Decision
	add := func(d Decision) {
		d.Rule = metrics.RuleOf(d.Reason)
		ds = append(ds, d)
	}
	for i, p := range res.Place {
		if i >= len(out.PlacedAllocs) || out.PlacedAllocs[i] == nil {
			continue // blocked: no node fit
		}
		a := out.PlacedAllocs[i]
		d := base
		d.Kind, d.AllocID, d.Name, d.TaskGroup, d.NodeID, d.PreviousAllocation, d.Reason =
			KindPlace, a.ID, p.Name, p.TaskGroup, a.NodeID, p.PreviousAllocation, p.Reason
		add(d)
	}
	for _, s := range res.Stop {
		d := base
		d.Kind, d.AllocID, d.ClientStatus, d.Reason = KindStop, s.AllocID, s.ClientStatus, s.Reason
		add(d)
	}
	for _, x := range []struct {
		kind string
		list []reconcile.AllocDecision
	}{{KindDisconnect, res.Disconnect}, {KindReconnect, res.Reconnect}, {KindUpdate, res.Update}} {
		for _, a := range x.list {
			d := base
			d.Kind, d.AllocID, d.Reason = x.kind, a.AllocID, a.Reason
			add(d)
		}
	}
	for i, f := range res.FollowUps {
		d := base
		d.Kind, d.WaitUntil, d.Reason = KindFollowUp, f.WaitUntil, f.Reason
		if i < len(out.FollowUpEvalIDs) {
			d.FollowUpEvalID = out.FollowUpEvalIDs[i]
		}
		if len(f.AllocIDs) == 0 {
			add(d)
		}
		for _, id := range f.AllocIDs {
			d.AllocID = id
			add(d)
		}
	}
	return ds
}

// decisionLog remembers the last decision per allocation, for Alloc.Get.
// It holds at most max entries; the oldest allocation is forgotten first.
type decisionLog struct {
	mu    sync.Mutex // protects last, order and head
	max   int
	last  map[string]rpc.DecisionInfo
	order []string // ring of alloc IDs in first-recorded order
	head  int
}

func newDecisionLog(max int) *decisionLog {
	return &decisionLog{max: max, last: map[string]rpc.DecisionInfo{}}
}

func (l *decisionLog) record(ds []Decision) {
	if l.max <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range ds {
		if d.AllocID == "" {
			continue
		}
		if _, ok := l.last[d.AllocID]; !ok {
			if len(l.order) < l.max {
				l.order = append(l.order, d.AllocID)
			} else {
				delete(l.last, l.order[l.head])
				l.order[l.head] = d.AllocID
				l.head = (l.head + 1) % l.max
			}
		}
		l.last[d.AllocID] = rpc.DecisionInfo{Kind: d.Kind, Reason: d.Reason, EvalID: d.EvalID, Index: d.Index, Time: d.Time}
	}
}

// LastDecision implements rpc.DecisionLog.
func (l *decisionLog) LastDecision(allocID string) (rpc.DecisionInfo, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	d, ok := l.last[allocID]
	return d, ok
}
