package reconcile

import (
	"time"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// blockedUpdate is the write a plan makes to the job's blocked evaluation
// (see blocked.go), or nil: the blocked evaluation when placements of a
// service or batch job found no node; otherwise a completed copy of one
// left blocked, since nothing waits for a node any more.
func blockedUpdate(snap *state.Snapshot, job *structs.Job, evalID string, out ApplyOutcome, now time.Time) (*structs.Evaluation, error) {
	if out.Unplaced > 0 && job.Type != structs.JobTypeSystem {
		return blockedEval(job, evalID, out.Blocked, now), nil
	}
	cur, err := snap.EvalByID(nil, BlockedEvalID(job.NamespacedID().Namespace, job.ID))
	if err != nil || cur == nil || cur.Status != structs.EvalStatusBlocked {
		return nil, err
	}
	done := cur.Copy()
	done.Status = structs.EvalStatusComplete
	done.StatusDescription = "no placement waits for a node any more (evaluation " + evalID + ")"
	done.ModifyTime = now.UnixNano()
	return done, nil
}

// unblockIfNodeReadied closes the gap between the snapshot a blocked plan
// was computed from and its write: a node that became ready in between
// was not a candidate, and the command that made it ready may have read
// the store before the blocked evaluation existed, so nothing would
// unblock the job. If any eligible node changed after snap, the job is
// unblocked now. The caller holds procMu.
func (w *Worker) unblockIfNodeReadied(snap *state.Snapshot, blocked *structs.Evaluation, now time.Time) error {
	cur := w.store.Snapshot()
	since := snap.Index(state.TableNodes)
	if cur.Index(state.TableNodes) == since {
		return nil
	}
	nodes, err := w.allNodes(cur)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n == nil || !n.Eligible() || n.ModifyIndex <= since {
			continue
		}
		newID := w.applyCfg.NewID
		if newID == nil {
			newID = newUUID
		}
		req := &structs.EvalUpdateRequest{Evals: UnblockEvals(blocked, n.ID, now, newID, true)}
		if _, _, err := w.store.ApplyCommand(structs.EvalUpdateRequestType, req); err != nil {
			return err
		}
		w.logger.Debug("node became ready while the job was being blocked: unblocked at once",
			"eval_id", blocked.ID, "job_id", blocked.JobID, "node_id", n.ID)
		return nil
	}
	return nil
}
