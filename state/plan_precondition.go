package state

import (
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// PlanStaleError is a conditional plan rejected because what it was computed
// from changed after its ReadIndex (see structs.ApplyPlanResultsRequest).
// It matches structs.ErrPlanStale. Nothing was written.
type PlanStaleError struct {
	Namespace, JobID string
	// ReadIndex is the plan's; ChangedAt the index of the change found (0
	// when the object is gone).
	ReadIndex, ChangedAt uint64
	// What changed: "job", "allocations", "node <id>" or "nodes".
	What string
}

func (e *PlanStaleError) Error() string {
	if e.ChangedAt == 0 {
		return fmt.Sprintf("plan of job %q computed at index %d is stale: its %s is gone", e.JobID, e.ReadIndex, e.What)
	}
	return fmt.Sprintf("plan of job %q computed at index %d is stale: its %s changed at index %d",
		e.JobID, e.ReadIndex, e.What, e.ChangedAt)
}

// Is makes the error match structs.ErrPlanStale.
func (e *PlanStaleError) Is(target error) bool { return target == structs.ErrPlanStale }

// checkPrecondition rejects a conditional plan (ReadIndex set) whose job,
// allocations or nodes changed after its ReadIndex. It runs inside the
// plan's write transaction, before anything is written, so no write can
// land between the check and the plan. The store works out the nodes
// itself, from the job's key rows and the placements, so the command stays
// small however many nodes a job spans.
func (p *planWriter) checkPrecondition() error {
	req := p.req
	if req.ReadIndex == 0 {
		return nil
	}
	t, r, ri := p.tx.cmd, p.tx.r(), req.ReadIndex
	if req.JobID == "" {
		return invalid(t, "a conditional plan needs its JobID")
	}
	latest := r.LatestIndex()
	if ri > latest {
		return invalid(t, "plan read index %d is above the latest index %d", ri, latest)
	}
	ns := req.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	stale := func(what string, at uint64) error {
		return &PlanStaleError{Namespace: ns, JobID: req.JobID, ReadIndex: ri, ChangedAt: at, What: what}
	}
	// The job is looked up even when nothing was written since: a
	// conditional plan needs its job.
	job, err := r.JobByID(nil, ns, req.JobID)
	switch {
	case err != nil:
		return err
	case job == nil:
		return stale("job", 0)
	case job.ModifyIndex > ri:
		return stale("job", job.ModifyIndex)
	}
	if ri == latest {
		return nil // nothing at all was written since
	}
	// The job's alloc_watch row moves with every write to one of its
	// allocations, placements included; so past this check its key rows
	// are those the plan was computed from.
	if at, err := r.allocWatchIndex(jobWatch(ns, req.JobID)); err != nil {
		return err
	} else if at > ri {
		return stale("allocations", at)
	}
	nodesAt := r.Index(TableNodes)
	switch {
	case nodesAt <= ri:
		return nil // no node changed since
	case job.Type == structs.JobTypeSystem:
		return stale("nodes", nodesAt)
	}
	// Some node changed; is it one of the job's? A node that is gone
	// counts as changed.
	checked := map[string]bool{}
	check := func(id string) error {
		if id == "" || checked[id] {
			return nil
		}
		checked[id] = true
		n, err := r.NodeByID(nil, id)
		switch {
		case err != nil:
			return err
		case n == nil:
			return stale("node "+id, 0)
		case n.ModifyIndex > ri:
			return stale("node "+id, n.ModifyIndex)
		}
		return nil
	}
	it, err := r.txn.Get(keyTables[partJob], "id", ns, req.JobID)
	if err != nil {
		return fmt.Errorf("state: %s: %w", keyTables[partJob], err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := check(raw.(*allocKeys).NodeID); err != nil {
			return err
		}
	}
	for _, a := range req.AllocsPlaced {
		if a != nil {
			if err := check(a.NodeID); err != nil {
				return err
			}
		}
	}
	return nil
}
