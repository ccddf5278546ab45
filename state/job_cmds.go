package state

import (
	"github.com/rejoinhq/rejoin/structs"
)

// jobRegister creates or updates a job, with its evaluation.
func (tx *writeTxn) jobRegister(req *structs.JobRegisterRequest) error {
	j := req.Job
	if err := j.Validate(); err != nil {
		return err
	}
	if req.Eval != nil {
		if err := validateEvals(tx.cmd, []*structs.Evaluation{req.Eval}); err != nil {
			return err
		}
	}
	j.Namespace = nsOrDefault(j.Namespace)
	old, err := tx.r().JobByID(nil, j.Namespace, j.ID)
	if err != nil {
		return err
	}
	j.CreateIndex = tx.index
	if old != nil {
		j.Version = old.Version + 1
		j.CreateIndex = old.CreateIndex
	}
	j.ModifyIndex = tx.index
	j.JobModifyIndex = tx.index
	if err := tx.insert(TableJobs, j); err != nil {
		return err
	}
	return tx.upsertEval(req.Eval)
}

// jobDeregister stops a job, or deletes it with Purge.
func (tx *writeTxn) jobDeregister(req *structs.JobDeregisterRequest) error {
	if req.JobID == "" {
		return invalid(tx.cmd, "job ID is required")
	}
	if req.Eval != nil {
		if err := validateEvals(tx.cmd, []*structs.Evaluation{req.Eval}); err != nil {
			return err
		}
	}
	ns := nsOrDefault(req.Namespace)
	old, err := tx.r().JobByID(nil, ns, req.JobID)
	if err != nil {
		return err
	}
	if old == nil {
		return unknownJob(ns, req.JobID)
	}
	if req.Purge {
		if err := tx.delete(TableJobs, old); err != nil {
			return err
		}
	} else {
		j := old.Copy()
		j.Stop = true
		j.Version = old.Version + 1
		j.ModifyIndex = tx.index
		j.JobModifyIndex = tx.index
		if err := tx.insert(TableJobs, j); err != nil {
			return err
		}
	}
	return tx.upsertEval(req.Eval)
}
