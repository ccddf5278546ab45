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
// (WORKER_API.md) in the simulation's single goroutine, and learns about
// evaluations from the commands the store applies (observe), so a pass
// costs what is pending, not the whole evals table.
type simWorker struct {
	s     *Sim
	store hookedStore
	// pending are the evaluations last seen pending, by ID; created is
	// the index of the command that first carried each.
	pending map[string]*structs.Evaluation
	created map[string]uint64
	placer  reconcile.Placer // nil: reconcile.DefaultPlacer
	// nodeList and nodeByID cache the nodes table as of nodesAt (the
	// harness's node-table index): re-read only when a node changed.
	nodeList []*structs.Node
	nodeByID map[string]*structs.Node
	nodesAt  uint64
}

// nodes returns every node, re-reading the table only if it changed.
func (w *simWorker) nodes(snap *state.Snapshot) ([]*structs.Node, map[string]*structs.Node, error) {
	if w.nodeByID != nil && w.nodesAt == w.s.nodesIdx {
		return w.nodeList, w.nodeByID, nil
	}
	all, err := snap.Nodes(nil)
	if err != nil {
		return nil, nil, err
	}
	w.nodeList, w.nodeByID, w.nodesAt = all, make(map[string]*structs.Node, len(all)), w.s.nodesIdx
	for _, n := range all {
		w.nodeByID[n.ID] = n
	}
	return w.nodeList, w.nodeByID, nil
}

func newSimWorker(s *Sim) (*simWorker, error) {
	w := &simWorker{s: s, store: hookedStore{Store: s.store, mutate: s.cfg.Hooks.MutatePlan},
		pending: map[string]*structs.Evaluation{}, created: map[string]uint64{}}
	if s.cfg.RoundRobinPlacer {
		w.placer = &roundRobinPlacer{s: s}
	}
	return w, nil
}

// roundRobinPlacer hands placements to the ready nodes in turn, skipping
// the node being replaced and nodes that already run an alloc of the job.
// Its cost per placement is the nodes it skips, not the cluster size.
type roundRobinPlacer struct {
	s    *Sim
	next int // index of the next client to try
}

// SelectNode implements reconcile.Placer.
func (p *roundRobinPlacer) SelectNode(_ reconcile.Placement, _ *structs.Job, _ []*structs.Node, liveByNode map[string]int, exclude string) (string, float64) {
	n := len(p.s.clients)
	for tries := 0; tries < n; tries++ {
		id := p.s.clients[p.next].ID
		p.next = (p.next + 1) % n
		if id != exclude && liveByNode[id] == 0 && p.s.stats.nodeStatus[id] == structs.NodeStatusReady {
			return id, 1
		}
	}
	return "", 0
}

// observe records the evaluations a command carries.
func (w *simWorker) observe(index uint64, req any) {
	var evals []*structs.Evaluation
	switch cmd := req.(type) {
	case *structs.NodeUpdateStatusRequest:
		evals = cmd.Evals
	case *structs.AllocUpdateRequest:
		evals = cmd.Evals
	case *structs.JobRegisterRequest:
		evals = []*structs.Evaluation{cmd.Eval}
	case *structs.JobDeregisterRequest:
		evals = []*structs.Evaluation{cmd.Eval}
	case *structs.EvalUpdateRequest:
		evals = cmd.Evals
	case *structs.ApplyPlanResultsRequest:
		evals = cmd.Evals
		delete(w.pending, cmd.EvalID) // completed by the plan
	}
	for _, e := range evals {
		if e == nil {
			continue
		}
		if _, ok := w.created[e.ID]; !ok {
			w.created[e.ID] = index
		}
		if e.Status == structs.EvalStatusPending {
			w.pending[e.ID] = e
		} else {
			delete(w.pending, e.ID)
		}
	}
}

// Pending counts the pending evaluations that are ready and delayed.
func (w *simWorker) Pending() (ready, delayed int) {
	now := w.s.clk.Now()
	for _, e := range w.pending {
		if e.WaitUntil.After(now) {
			delayed++
		} else {
			ready++
		}
	}
	return ready, delayed
}

// ProcessReady processes every ready evaluation until none is left.
func (w *simWorker) ProcessReady() (int, error) {
	processed := 0
	for round := 0; round < 1000; round++ {
		now := w.s.clk.Now()
		var ready []*structs.Evaluation
		for _, e := range w.pending {
			if !e.WaitUntil.After(now) {
				ready = append(ready, e)
			}
		}
		if len(ready) == 0 {
			return processed, nil
		}
		slices.SortFunc(ready, func(a, b *structs.Evaluation) int {
			if c := cmp.Compare(w.created[a.ID], w.created[b.ID]); c != 0 {
				return c
			}
			return cmp.Compare(a.ID, b.ID)
		})
		byJob := map[structs.NamespacedID][]*structs.Evaluation{}
		var order []structs.NamespacedID
		for _, e := range ready {
			k := structs.NamespacedID{Namespace: e.Namespace, ID: e.JobID}
			if k.Namespace == "" {
				k.Namespace = structs.DefaultNamespace
			}
			if byJob[k] == nil {
				order = append(order, k)
			}
			byJob[k] = append(byJob[k], e)
		}
		for _, k := range order {
			if err := w.processJob(k, byJob[k], now); err != nil {
				return processed, err
			}
			processed += len(byJob[k])
		}
	}
	return processed, fmt.Errorf("eval worker: evaluations keep coming after 1000 rounds")
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
		all, byID, err := w.nodes(snap)
		if err != nil {
			return err
		}
		nodes := make(map[string]*structs.Node, len(allocs))
		for _, a := range allocs {
			if n := byID[a.NodeID]; n != nil {
				nodes[n.ID] = n
			}
		}
		in := reconcile.Input{Job: job, Allocs: allocs, Nodes: nodes, Now: now, EvalID: evals[0].ID}
		res := reconcile.Compute(in)
		if _, err := reconcile.Apply(w.store, all, in, res, reconcile.ApplyConfig{NewID: w.s.newID, Placer: w.placer}); err != nil {
			return err
		}
		delete(w.pending, evals[0].ID)
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
