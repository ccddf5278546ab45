package rejoin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// feed hands every pending evaluation to the WithEvalQueue queue once,
// until ctx ends: it waits for the evals table to change (a blocking
// query), then scans it. It owns delivered; the queue is called with no
// lock held.
func (s *Server) feed(ctx context.Context) {
	delivered := map[string]struct{}{}
	var since uint64
	for ctx.Err() == nil {
		var batch []*structs.Evaluation
		idx, err := s.store.BlockingQuery(ctx, since, func(_ memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
			return snap.Index(state.TableEvals), nil
		})
		if err != nil || ctx.Err() != nil {
			if err != nil {
				s.logger.Error("eval feed: blocking query", "error", err)
			}
			return
		}
		evals, err := s.store.Snapshot().Evals(nil)
		if err != nil {
			s.logger.Error("eval feed: list evaluations", "error", err)
			return
		}
		for _, e := range evals {
			_, seen := delivered[e.ID]
			switch {
			case e.Status == structs.EvalStatusPending && !seen:
				delivered[e.ID] = struct{}{}
				batch = append(batch, e.Copy())
			case e.TerminalStatus() && seen:
				delete(delivered, e.ID)
			}
		}
		since = max(idx, since)
		if since == 0 {
			since = 1 // an empty store: wait for its first write
		}
		if len(batch) > 0 {
			slices.SortFunc(batch, func(a, b *structs.Evaluation) int {
				return cmp.Or(cmp.Compare(a.CreateIndex, b.CreateIndex), cmp.Compare(a.ID, b.ID))
			})
			s.opts.queue.Enqueue(batch...)
		}
	}
}

// EvalResult is what Evaluate applied.
type EvalResult struct {
	// Index is the store index of the plan (0: nothing was written).
	Index     uint64
	Decisions []Decision
	// Placed and Unplaced count placements that got a node and those that
	// found none (blocked).
	Placed, Unplaced int
	// FollowUpEvalIDs are the pending evaluations the plan created: they
	// reach the queue like any other.
	FollowUpEvalIDs []string
}

// evaluateAttempts bounds re-runs of an evaluation whose job changed
// between its read and its write.
const evaluateAttempts = 4

// Evaluate runs one evaluation taken from the WithEvalQueue queue: it
// reads the job's state, runs reconcile.Compute and writes the decisions
// with reconcile.Apply in one command, which also marks the evaluation
// complete. An evaluation the store already holds as terminal is a no-op.
// A job that no longer exists completes the evaluation. If the job's part
// of the state changes while it is being decided, it is decided again (a
// bounded number of times). Calls are serialised. On error nothing was
// written and the evaluation is still pending: the broker may retry it.
// With the built-in worker (no WithEvalQueue) it is refused.
func (s *Server) Evaluate(eval *structs.Evaluation) (EvalResult, error) {
	if s.worker != nil {
		return EvalResult{}, fmt.Errorf("%w: Evaluate is for servers with WithEvalQueue", structs.ErrInvalidRequest)
	}
	if eval == nil || eval.ID == "" || eval.JobID == "" {
		return EvalResult{}, fmt.Errorf("%w: Evaluate needs an evaluation with an ID and a job", structs.ErrInvalidRequest)
	}
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	for attempt := 1; attempt <= evaluateAttempts; attempt++ {
		snap := s.store.Snapshot()
		cur, err := snap.EvalByID(nil, eval.ID)
		if err != nil {
			return EvalResult{}, err
		}
		if cur != nil && cur.TerminalStatus() {
			return EvalResult{}, nil
		}
		if cur == nil {
			cur = eval
		}
		ns := cur.Namespace
		if ns == "" {
			ns = structs.DefaultNamespace
		}
		job, err := snap.JobByID(nil, ns, cur.JobID)
		if err != nil {
			return EvalResult{}, err
		}
		now := s.clock.Now()
		if job == nil {
			done := cur.Copy()
			done.Status, done.StatusDescription, done.ModifyTime = structs.EvalStatusComplete, "job no longer exists", now.UnixNano()
			idx, _, err := s.store.ApplyCommand(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{done}})
			return EvalResult{Index: idx}, err
		}
		in, nodes, err := evalInput(snap, job, cur.ID, now)
		if err != nil {
			return EvalResult{}, err
		}
		res := reconcile.Compute(in)
		before, err := jobPrint(snap, job)
		if err != nil {
			return EvalResult{}, err
		}
		after, err := jobPrint(s.store.Snapshot(), job)
		if err != nil {
			return EvalResult{}, err
		}
		if before != after {
			s.logger.Debug("job changed while deciding; again", "eval_id", cur.ID, "job_id", job.ID, "attempt", attempt)
			continue
		}
		out, err := reconcile.Apply(s.store, nodes, in, res, reconcile.ApplyConfig{Placer: s.opts.placer, NewID: s.opts.newID})
		if err != nil {
			return EvalResult{}, err
		}
		ds := s.applied(cur.ID, in, res, out)
		return EvalResult{Index: out.Index, Decisions: ds, Placed: out.Placed, Unplaced: out.Unplaced, FollowUpEvalIDs: out.FollowUpEvalIDs}, nil
	}
	return EvalResult{}, fmt.Errorf("rejoin: evaluation %q: job %q kept changing", eval.ID, eval.JobID)
}

// evalInput reads what Compute needs for job from snap, and the placement
// candidates (every node).
func evalInput(snap *state.Snapshot, job *structs.Job, evalID string, now time.Time) (reconcile.Input, []*structs.Node, error) {
	ns := job.NamespacedID().Namespace
	allocs, err := snap.AllocsByJob(nil, ns, job.ID)
	if err != nil {
		return reconcile.Input{}, nil, err
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return reconcile.Input{}, nil, err
	}
	in := reconcile.Input{Job: job, Allocs: allocs, Now: now, EvalID: evalID, Nodes: map[string]*structs.Node{}}
	byID := make(map[string]*structs.Node, len(nodes))
	for _, n := range nodes {
		byID[n.ID] = n
	}
	if job.Type == structs.JobTypeSystem {
		in.Nodes = byID
	} else {
		for _, a := range allocs {
			if n := byID[a.NodeID]; n != nil {
				in.Nodes[a.NodeID] = n
			}
		}
	}
	return in, nodes, nil
}

// jobState is what a decision about a job depends on: the job, its allocs
// and the nodes (placement candidates).
type jobState struct {
	jobModify, allocs, allocsMax, nodes uint64
}

func jobPrint(snap *state.Snapshot, job *structs.Job) (jobState, error) {
	var p jobState
	cur, err := snap.JobByID(nil, job.NamespacedID().Namespace, job.ID)
	if err != nil {
		return p, err
	}
	if cur != nil {
		p.jobModify = cur.ModifyIndex
	}
	allocs, err := snap.AllocsByJob(nil, job.NamespacedID().Namespace, job.ID)
	if err != nil {
		return p, err
	}
	p.allocs = uint64(len(allocs))
	for _, a := range allocs {
		p.allocsMax = max(p.allocsMax, a.ModifyIndex)
	}
	p.nodes = snap.Index(state.TableNodes)
	return p, nil
}
