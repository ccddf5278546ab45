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
	n     *Node
	seen  map[evalKey]bool
	jobs  map[[2]string]*structs.Job
	evals []*structs.Evaluation
}

func newEvalSet(n *Node) *evalSet {
	return &evalSet{n: n, seen: map[evalKey]bool{}, jobs: map[[2]string]*structs.Job{}}
}

// add creates an evaluation of alloc's job for trigger unless one exists.
func (s *evalSet) add(a *structs.Allocation, nodeID, trigger string, now time.Time) error {
	ns := a.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	k := evalKey{ns, a.JobID, trigger}
	if s.seen[k] {
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
		JobID:       a.JobID,
		NodeID:      nodeID,
		Status:      structs.EvalStatusPending,
		CreateTime:  now.UnixNano(),
		ModifyTime:  now.UnixNano(),
	})
	return nil
}
