package rejoin

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/hashicorp/go-memdb"

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
	// Index is the store index of the plan (0: no plan was written).
	Index     uint64
	Decisions []Decision
	// Placed and Unplaced count placements that got a node and those that
	// found none (blocked).
	Placed, Unplaced int
	// FollowUpEvalIDs are the pending evaluations the plan created: they
	// reach the queue like any other.
	FollowUpEvalIDs []string
}

// Evaluate runs one evaluation taken from the WithEvalQueue queue with the
// built-in worker's own steps (reconcile.Worker.Evaluate): it decides the
// job's allocations with reconcile.Compute and writes the decisions in one
// command that also completes the evaluation; placements that find no node
// leave a blocked evaluation that a node becoming ready re-activates. An
// evaluation the store already holds as terminal is a no-op; a job that no
// longer exists completes it. If the job's part of the state keeps changing
// while it is decided, Evaluate gives up with reconcile.ErrKeptChanging,
// writes nothing and leaves the evaluation pending for the broker to retry;
// if the store refuses the write, the evaluation is marked failed. Calls are
// serialised. With the built-in worker (no WithEvalQueue) it is refused.
func (s *Server) Evaluate(eval *structs.Evaluation) (EvalResult, error) {
	if s.worker != nil {
		return EvalResult{}, fmt.Errorf("%w: Evaluate is for servers with WithEvalQueue", structs.ErrInvalidRequest)
	}
	out, err := s.evaluator.Evaluate(eval)
	if err != nil || out.Results == nil {
		return EvalResult{}, err
	}
	ds := s.applied(eval.ID, out.Input, out.Results, out.Applied)
	return EvalResult{Index: out.Applied.Index, Decisions: ds, Placed: out.Applied.Placed,
		Unplaced: out.Applied.Unplaced, FollowUpEvalIDs: out.Applied.FollowUpEvalIDs}, nil
}
