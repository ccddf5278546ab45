package rpc

import (
	"fmt"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Defaults for evaluations of a job the store no longer has.
const (
	defaultEvalPriority = 50
	defaultEvalType     = structs.JobTypeService
)

type evalKey struct{ namespace, jobID, trigger string }

// evalSet builds pending evaluations, at most one per job and trigger.
type evalSet struct {
	n    *Node
	seen map[evalKey]bool
	jobs map[[2]string]*structs.Job // job lookups, nil for a job the store lacks
	// withEval holds the jobs the set has an evaluation of.
	withEval map[[2]string]bool
	evals    []*structs.Evaluation
}

func newEvalSet(n *Node) *evalSet {
	return &evalSet{n: n, seen: map[evalKey]bool{}, jobs: map[[2]string]*structs.Job{}, withEval: map[[2]string]bool{}}
}

// add creates an evaluation of alloc's job for trigger unless one exists.
func (s *evalSet) add(a *structs.Allocation, nodeID, trigger string, now time.Time) error {
	ns := a.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	if s.seen[evalKey{ns, a.JobID, trigger}] {
		return nil
	}
	job, ok := s.jobs[[2]string{ns, a.JobID}]
	if !ok {
		var err error
		if job, err = s.n.store.JobByID(nil, ns, a.JobID); err != nil {
			return fmt.Errorf("%w: reading job %s/%s: %w", ErrInternal, ns, a.JobID, err)
		}
		s.jobs[[2]string{ns, a.JobID}] = job
	}
	s.addJob(ns, a.JobID, job, nodeID, trigger, now)
	return nil
}

// hasJob reports whether the set holds an evaluation of the job.
func (s *evalSet) hasJob(ns, jobID string) bool {
	return s.withEval[[2]string{ns, jobID}]
}

// addJob creates an evaluation of the job (nil: one the store no longer
// has) for trigger unless one exists.
func (s *evalSet) addJob(ns, jobID string, job *structs.Job, nodeID, trigger string, now time.Time) {
	k := evalKey{ns, jobID, trigger}
	if s.seen[k] {
		return
	}
	s.withEval[[2]string{ns, jobID}] = true
	prio, typ := defaultEvalPriority, defaultEvalType
	if job != nil {
		if job.Priority > 0 {
			prio = job.Priority
		}
		if job.Type != "" {
			typ = job.Type
		}
	}
	s.seen[k] = true
	s.evals = append(s.evals, &structs.Evaluation{
		ID:          s.n.newID(),
		Namespace:   ns,
		Priority:    prio,
		Type:        typ,
		TriggeredBy: trigger,
		JobID:       jobID,
		NodeID:      nodeID,
		Status:      structs.EvalStatusPending,
		CreateTime:  now.UnixNano(),
		ModifyTime:  now.UnixNano(),
	})
}
