package state

import (
	"github.com/rejoinhq/rejoin/structs"
)

// applyPlanResults applies one evaluation's decisions in one write. Every
// changed allocation is a copy of the stored one; AllocStates are appended
// at req.Now, never earlier than the alloc's last entry.
func (tx *writeTxn) applyPlanResults(req *structs.ApplyPlanResultsRequest) error {
	p := &planWriter{tx: tx, req: req, work: map[string]*structs.Allocation{},
		old: map[string]*structs.Allocation{}}
	if err := p.checkPrecondition(); err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		return err
	}
	p.place()
	for _, s := range req.AllocsStopped {
		a := p.lookup(s.AllocID)
		a.DesiredStatus = structs.AllocDesiredStatusStop
		a.DesiredDescription = s.Description
		if s.ClientStatus != "" {
			a.ClientStatus = s.ClientStatus
			a.AppendState(structs.AllocStateFieldClientStatus, s.ClientStatus, req.Now)
		}
	}
	for _, d := range req.AllocsDisconnected {
		a := p.lookup(d.AllocID)
		a.ClientStatus = structs.AllocClientStatusUnknown
		a.ClientDescription = structs.AllocUnknown
		a.AppendState(structs.AllocStateFieldClientStatus, structs.AllocClientStatusUnknown, req.Now)
		a.FollowupEvalID = d.FollowupEvalID
	}
	for _, id := range req.AllocsReconnected {
		a := p.lookup(id)
		a.AppendState(structs.AllocStateFieldClientStatus, a.ClientStatus, req.Now)
		a.FollowupEvalID = ""
	}
	for _, u := range req.AllocsUpdated {
		p.lookup(u.AllocID).JobVersion = u.JobVersion
	}
	for _, f := range req.AllocFollowups {
		p.lookup(f.AllocID).FollowupEvalID = f.FollowupEvalID
	}
	if err := p.flush(); err != nil {
		return err
	}
	if err := tx.upsertEvals(req.Evals); err != nil {
		return err
	}
	return p.completeEval()
}

// planWriter holds a plan's working copies: each changed alloc is copied
// once, changed by every decision naming it, and inserted once.
type planWriter struct {
	tx    *writeTxn
	req   *structs.ApplyPlanResultsRequest
	work  map[string]*structs.Allocation
	old   map[string]*structs.Allocation // stored version of work; absent for placements
	order []string                       // insertion order of work, for a deterministic write
}

// validate checks the whole plan before anything is written.
func (p *planWriter) validate() error {
	t, req, r := p.tx.cmd, p.req, p.tx.r()
	placed := make(map[string]bool, len(req.AllocsPlaced))
	for i, a := range req.AllocsPlaced {
		switch {
		case a == nil || a.ID == "":
			return invalid(t, "placed allocation %d has no ID", i)
		case a.JobID == "" || a.TaskGroup == "" || a.NodeID == "":
			return invalid(t, "placed alloc %q needs JobID, TaskGroup and NodeID", a.ID)
		case placed[a.ID]:
			return invalid(t, "alloc %q placed twice", a.ID)
		case a.ClientStatus != "" && !structs.ValidClientStatus(a.ClientStatus):
			return invalid(t, "placed alloc %q: invalid client status %q", a.ID, a.ClientStatus)
		}
		old, err := r.AllocByID(nil, a.ID)
		if err != nil {
			return err
		}
		if old != nil {
			return invalid(t, "placed alloc %q already exists", a.ID)
		}
		placed[a.ID] = true
	}
	var ids []string
	for i, s := range req.AllocsStopped {
		if s == nil {
			return invalid(t, "stop %d is empty", i)
		}
		if s.ClientStatus != "" && !structs.ValidClientStatus(s.ClientStatus) {
			return invalid(t, "stop of alloc %q: invalid client status %q", s.AllocID, s.ClientStatus)
		}
		ids = append(ids, s.AllocID)
	}
	for i, d := range req.AllocsDisconnected {
		if d == nil {
			return invalid(t, "disconnect %d is empty", i)
		}
		ids = append(ids, d.AllocID)
	}
	ids = append(ids, req.AllocsReconnected...)
	for i, u := range req.AllocsUpdated {
		if u == nil {
			return invalid(t, "in-place update %d is empty", i)
		}
		ids = append(ids, u.AllocID)
	}
	for i, f := range req.AllocFollowups {
		if f == nil {
			return invalid(t, "follow-up %d is empty", i)
		}
		ids = append(ids, f.AllocID)
	}
	for _, id := range ids {
		if placed[id] {
			continue
		}
		a, err := r.AllocByID(nil, id)
		if err != nil {
			return err
		}
		if a == nil {
			return unknownAlloc(id)
		}
	}
	if (len(ids) > 0 || len(placed) > 0) && req.Now.IsZero() {
		return invalid(t, "Now is required to change allocations")
	}
	return validateEvals(t, req.Evals)
}

// place adds the new allocations and links each to the one it replaces.
func (p *planWriter) place() {
	now := p.req.Now.UnixNano()
	for _, a := range p.req.AllocsPlaced {
		// a is freshly decoded and owned by this command.
		a.Namespace = nsOrDefault(a.Namespace)
		if a.DesiredStatus == "" {
			a.DesiredStatus = structs.AllocDesiredStatusRun
		}
		if a.ClientStatus == "" {
			a.ClientStatus = structs.AllocClientStatusPending
		}
		a.CreateIndex = p.tx.index
		a.CreateTime = now
		p.work[a.ID] = a
		p.order = append(p.order, a.ID)
	}
	for _, a := range p.req.AllocsPlaced {
		if a.PreviousAllocation == "" {
			continue
		}
		if prev := p.lookup(a.PreviousAllocation); prev != nil {
			prev.NextAllocation = a.ID
		}
	}
}

// lookup returns the working copy of id, copying the stored alloc on first
// use, or nil when there is none (validate proved every ID a decision names
// exists).
func (p *planWriter) lookup(id string) *structs.Allocation {
	if a, ok := p.work[id]; ok {
		return a
	}
	// AllocByID fails only for a schema mistake, which validate's lookups
	// of the same IDs would already have returned.
	stored, _ := p.tx.r().AllocByID(nil, id)
	if stored == nil {
		return nil
	}
	a := stored.CopySkipStates()
	p.work[id] = a
	p.old[id] = stored
	p.order = append(p.order, id)
	return a
}

// flush stamps and inserts every working copy.
func (p *planWriter) flush() error {
	now := p.req.Now.UnixNano()
	for _, id := range p.order {
		a := p.work[id]
		a.ModifyIndex = p.tx.index
		a.AllocModifyIndex = p.tx.index
		a.ModifyTime = now
		if err := p.tx.putAlloc(p.old[id], a); err != nil {
			return err
		}
	}
	return nil
}

// completeEval marks the plan's evaluation complete; a missing one is
// ignored (it may have been garbage-collected).
func (p *planWriter) completeEval() error {
	if p.req.EvalID == "" {
		return nil
	}
	e, err := p.tx.r().EvalByID(nil, p.req.EvalID)
	if err != nil || e == nil {
		return err
	}
	c := e.Copy()
	c.Status = structs.EvalStatusComplete
	c.ModifyIndex = p.tx.index
	return p.tx.insert(TableEvals, c)
}
