package reconcile

import (
	"fmt"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Blocked evaluations: placements that found no node are retried when a
// node becomes ready.
//
// When the worker writes a plan whose placements found no node (for a
// service or batch job), the same write records the job's blocked
// evaluation: Status blocked, TriggeredBy queued-allocs. A job has at most
// one, because its ID is derived from the job (BlockedEvalID): blocking
// again overwrites it, and whoever wants to unblock a job finds it with one
// lookup instead of a scan of every evaluation. A blocked evaluation is
// never queued by the worker (only pending ones are).
//
// When a node becomes ready, the command that records the change carries
// UnblockEvals for every job with a blocked evaluation: the blocked one
// marked complete and a fresh pending one (queued-allocs, PreviousEval the
// blocked one). The worker runs the job again; if its placements still
// find no node, it blocks the job again under the same ID. A plan that
// leaves nothing unplaced completes a blocked evaluation left over.
//
// System jobs get no blocked evaluation: a node becoming ready creates a
// node-update evaluation for every system job, which covers their retries.

// BlockedEvalID is the ID of the job's blocked evaluation.
func BlockedEvalID(namespace, jobID string) string {
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	return "blocked/" + namespace + "/" + jobID
}

// blockedEval is the job's blocked evaluation for a plan whose blocked
// placements found no node. prev is the evaluation the plan processed.
func blockedEval(job *structs.Job, prev string, blocked []Placement, now time.Time) *structs.Evaluation {
	ns := job.NamespacedID().Namespace
	names := make([]string, 0, min(len(blocked), 3))
	for _, p := range blocked[:min(len(blocked), 3)] {
		names = append(names, p.Name)
	}
	more := ""
	if len(blocked) > len(names) {
		more = fmt.Sprintf(" and %d more", len(blocked)-len(names))
	}
	return &structs.Evaluation{
		ID:          BlockedEvalID(ns, job.ID),
		Namespace:   ns,
		Priority:    job.Priority,
		Type:        job.Type,
		TriggeredBy: structs.EvalTriggerQueuedAllocs,
		JobID:       job.ID,
		Status:      structs.EvalStatusBlocked,
		StatusDescription: fmt.Sprintf("%d placements found no node (%s%s); retried when a node becomes ready",
			len(blocked), strings.Join(names, ", "), more),
		PreviousEval: prev,
		CreateTime:   now.UnixNano(),
		ModifyTime:   now.UnixNano(),
	}
}

// UnblockEvals returns the evaluations that unblock a job whose blocked
// evaluation is blocked, because node nodeID became ready at now: the
// blocked one marked complete and, unless retry is false (the job gets
// another evaluation in the same write), a new pending queued-allocs
// evaluation with an ID from newID. It returns nil when blocked is nil or
// not blocked.
func UnblockEvals(blocked *structs.Evaluation, nodeID string, now time.Time, newID func() string, retry bool) []*structs.Evaluation {
	if blocked == nil || blocked.Status != structs.EvalStatusBlocked {
		return nil
	}
	done := blocked.Copy()
	done.Status = structs.EvalStatusComplete
	done.StatusDescription = fmt.Sprintf("unblocked: node %s became ready", nodeID)
	done.ModifyTime = now.UnixNano()
	if !retry {
		return []*structs.Evaluation{done}
	}
	return []*structs.Evaluation{done, {
		ID:                newID(),
		Namespace:         blocked.Namespace,
		Priority:          blocked.Priority,
		Type:              blocked.Type,
		TriggeredBy:       structs.EvalTriggerQueuedAllocs,
		JobID:             blocked.JobID,
		NodeID:            nodeID,
		Status:            structs.EvalStatusPending,
		StatusDescription: fmt.Sprintf("retry placements of blocked evaluation %s: node %s became ready", blocked.ID, nodeID),
		PreviousEval:      blocked.ID,
		CreateTime:        now.UnixNano(),
		ModifyTime:        now.UnixNano(),
	}}
}
