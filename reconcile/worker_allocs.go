package reconcile

import (
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// allocMemoFill is how many jobs' allocations the worker reads one by one
// at one version of the allocs table before it reads the whole table once
// and groups it by job. In a reconnect storm a pass evaluates hundreds of
// jobs; one ordered scan then costs a fraction of their AllocsByJob reads,
// each a key-table scan plus a lookup per alloc. A variable so tests can
// make every read come from the scan, or none; NewWorker copies it.
var allocMemoFill = 32

// allocCache holds allocations by job as of one version of the allocs
// table. Allocations are shared with the store and never changed in place,
// so any snapshot at that version holds exactly these. The worker's own
// plan writes move the version; when nothing else wrote in between, the
// cache follows (the jobs the plan touched are read afresh), so one pass
// over many jobs scans the table once. The caller holds procMu.
type allocCache struct {
	at    uint64 // allocs-table index the cache is valid at
	valid bool
	// full: byJob holds every job with allocations, except those in
	// dirty, which must be read again; a job absent from both has none.
	full  bool
	reads int
	// fillAfter is allocMemoFill as of NewWorker.
	fillAfter int
	byJob     map[structs.NamespacedID][]*structs.Allocation
	dirty     map[structs.NamespacedID]bool
}

// sync makes the cache valid for allocs-table index at, forgetting what
// it held for another.
func (c *allocCache) sync(at uint64) {
	if c.valid && c.at == at {
		return
	}
	if c.byJob == nil {
		c.byJob = make(map[structs.NamespacedID][]*structs.Allocation)
		c.dirty = make(map[structs.NamespacedID]bool)
	}
	clear(c.byJob)
	clear(c.dirty)
	c.at, c.valid, c.full, c.reads = at, true, false, 0
}

func allocJobKey(ns, jobID string) structs.NamespacedID {
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return structs.NamespacedID{Namespace: ns, ID: jobID}
}

// allocsByJob returns what snap.AllocsByJob would: the job's allocations
// sorted by ID.
func (w *Worker) allocsByJob(snap *state.Snapshot, ns, jobID string) ([]*structs.Allocation, error) {
	c := &w.allocMemo
	c.sync(snap.Index(state.TableAllocs))
	key := allocJobKey(ns, jobID)
	if c.full && !c.dirty[key] {
		return c.byJob[key], nil
	}
	c.reads++
	if !c.full && c.reads > c.fillAfter {
		if err := c.fill(snap); err != nil {
			return nil, err
		}
		return c.byJob[key], nil
	}
	allocs, err := snap.AllocsByJob(nil, ns, jobID)
	if err != nil {
		return nil, err
	}
	if c.full {
		delete(c.dirty, key)
		if len(allocs) > 0 {
			c.byJob[key] = allocs
		} else {
			delete(c.byJob, key)
		}
	}
	return allocs, nil
}

// fill reads every allocation of snap, in ID order, into byJob. Each
// job's slice is clipped: appending to it never writes into another's.
func (c *allocCache) fill(snap *state.Snapshot) error {
	it, err := snap.Allocs(nil)
	if err != nil {
		return err
	}
	clear(c.byJob)
	clear(c.dirty)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*structs.Allocation)
		// Keyed as the store's job index keys it: by the alloc's own
		// namespace, which AllocsByJob's lookup defaults.
		key := structs.NamespacedID{Namespace: a.Namespace, ID: a.JobID}
		c.byJob[key] = append(c.byJob[key], a)
	}
	for k, v := range c.byJob {
		c.byJob[k] = v[:len(v):len(v)]
	}
	c.full = true
	return nil
}

// afterWrite follows the worker's own plan write at index idx. pre is the
// snapshot taken just before it. If no other command landed between pre
// and the write, and none after it changed an allocation by the time post
// was taken, the only allocations that changed since the cache's version
// are the plan's: the
// jobs they belong to (before and after) are marked for a fresh read and
// the cache moves to the new version. Otherwise it is dropped.
func (c *allocCache) afterWrite(pre *state.Snapshot, idx uint64, post *state.Snapshot, req *structs.ApplyPlanResultsRequest) {
	if !c.valid {
		return
	}
	if pre.Index(state.TableAllocs) != c.at || idx != pre.LatestIndex()+1 {
		c.valid = false
		return
	}
	switch post.Index(state.TableAllocs) {
	case c.at:
		return // the plan changed no allocation
	case idx:
	default:
		c.valid = false
		return
	}
	c.at = idx
	if !c.full {
		return
	}
	c.dirty[allocJobKey(req.Namespace, req.JobID)] = true
	mark := func(id string) {
		for _, s := range [2]*state.Snapshot{pre, post} {
			if a, err := s.AllocByID(nil, id); err == nil && a != nil {
				c.dirty[structs.NamespacedID{Namespace: a.Namespace, ID: a.JobID}] = true
			}
		}
	}
	for _, a := range req.AllocsPlaced {
		if a == nil {
			continue
		}
		mark(a.ID)
		if a.PreviousAllocation != "" {
			mark(a.PreviousAllocation)
		}
	}
	for _, s := range req.AllocsStopped {
		if s != nil {
			mark(s.AllocID)
		}
	}
	for _, s := range req.AllocsDisconnected {
		if s != nil {
			mark(s.AllocID)
		}
	}
	for _, id := range req.AllocsReconnected {
		mark(id)
	}
	for _, s := range req.AllocsUpdated {
		if s != nil {
			mark(s.AllocID)
		}
	}
	for _, s := range req.AllocFollowups {
		if s != nil {
			mark(s.AllocID)
		}
	}
}
