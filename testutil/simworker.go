package testutil

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// hookedStore is the store as the eval worker sees it: Hooks.MutatePlan
// can corrupt plans before they are applied.
type hookedStore struct {
	*state.Store
	mutate func(plan *structs.ApplyPlanResultsRequest, store *state.Store)
}

// ApplyCommand applies t, letting the hook change plans first.
func (h hookedStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if plan, ok := req.(*structs.ApplyPlanResultsRequest); ok && h.mutate != nil {
		h.mutate(plan, h.Store)
	}
	return h.Store.ApplyCommand(t, req)
}

// simWorker processes pending evaluations synchronously: per job, oldest
// first, one Compute + Apply for all of a job's ready evaluations, the
// extra ones marked complete. It follows the eval worker contract
// (WORKER_API.md) in the simulation's single goroutine.
type simWorker struct {
	s     *Sim
	store hookedStore
	// nextDue is the earliest WaitUntil of a delayed pending eval seen by
	// the last pass (zero: none).
	nextDue time.Time
}

func newSimWorker(s *Sim) (evalWorker, error) {
	return &simWorker{s: s, store: hookedStore{Store: s.store, mutate: s.cfg.Hooks.MutatePlan}}, nil
}

// Pending reports one ready eval when a delayed one has come due.
func (w *simWorker) Pending() (int, int) {
	if !w.nextDue.IsZero() && !w.s.clk.Now().Before(w.nextDue) {
		return 1, 0
	}
	return 0, 0
}

// ProcessReady processes every ready evaluation until none is left.
func (w *simWorker) ProcessReady() (int, error) {
	processed := 0
	for round := 0; round < 100; round++ {
		now := w.s.clk.Now()
		evals, err := w.s.store.Evals(nil)
		if err != nil {
			return processed, err
		}
		byJob := map[structs.NamespacedID][]*structs.Evaluation{}
		var order []structs.NamespacedID
		w.nextDue = time.Time{}
		slices.SortFunc(evals, func(a, b *structs.Evaluation) int {
			if c := cmp.Compare(a.CreateIndex, b.CreateIndex); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		for _, e := range evals {
			if e.Status != structs.EvalStatusPending {
				continue
			}
			if e.WaitUntil.After(now) {
				if w.nextDue.IsZero() || e.WaitUntil.Before(w.nextDue) {
					w.nextDue = e.WaitUntil
				}
				continue
			}
			k := structs.NamespacedID{Namespace: e.Namespace, ID: e.JobID}
			if k.Namespace == "" {
				k.Namespace = structs.DefaultNamespace
			}
			if byJob[k] == nil {
				order = append(order, k)
			}
			byJob[k] = append(byJob[k], e)
		}
		if len(order) == 0 {
			return processed, nil
		}
		for _, k := range order {
			if err := w.processJob(k, byJob[k], now); err != nil {
				return processed, err
			}
			processed += len(byJob[k])
		}
	}
	return processed, fmt.Errorf("eval worker: evaluations keep coming after 100 rounds")
}

func (w *simWorker) processJob(k structs.NamespacedID, evals []*structs.Evaluation, now time.Time) error {
	snap := w.s.store.Snapshot()
	job, err := snap.JobByID(nil, k.Namespace, k.ID)
	if err != nil {
		return err
	}
	if job != nil {
		allocs, err := snap.AllocsByJob(nil, k.Namespace, k.ID)
		if err != nil {
			return err
		}
		all, err := snap.Nodes(nil)
		if err != nil {
			return err
		}
		nodes := make(map[string]*structs.Node, len(all))
		for _, n := range all {
			nodes[n.ID] = n
		}
		in := reconcile.Input{Job: job, Allocs: allocs, Nodes: nodes, Now: now, EvalID: evals[0].ID}
		res := reconcile.Compute(in)
		if _, err := reconcile.Apply(w.store, all, in, res, reconcile.ApplyConfig{NewID: w.s.newID}); err != nil {
			return err
		}
		evals = evals[1:]
	}
	if len(evals) == 0 {
		return nil
	}
	done := make([]*structs.Evaluation, len(evals))
	for i, e := range evals {
		c := e.Copy()
		c.Status = structs.EvalStatusComplete
		c.ModifyTime = now.UnixNano()
		done[i] = c
	}
	_, _, err = w.s.store.ApplyCommand(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: done})
	return err
}
