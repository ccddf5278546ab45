package state

import (
	"github.com/rejoinhq/rejoin/structs"
)

// evalUpdate upserts evaluations.
func (tx *writeTxn) evalUpdate(req *structs.EvalUpdateRequest) error {
	if len(req.Evals) == 0 {
		return invalid(tx.cmd, "no evaluations")
	}
	if err := validateEvals(tx.cmd, req.Evals); err != nil {
		return err
	}
	return tx.upsertEvals(req.Evals)
}

// validateEvals checks evaluations a command will upsert.
func validateEvals(t structs.MessageType, evals []*structs.Evaluation) error {
	for i, e := range evals {
		if e == nil || e.ID == "" {
			return invalid(t, "evaluation %d has no ID", i)
		}
	}
	return nil
}

// upsertEvals writes validated evaluations: an existing one keeps its
// CreateIndex, every one gets ModifyIndex = the command's index.
func (tx *writeTxn) upsertEvals(evals []*structs.Evaluation) error {
	for _, e := range evals {
		if err := tx.upsertEval(e); err != nil {
			return err
		}
	}
	return nil
}

func (tx *writeTxn) upsertEval(e *structs.Evaluation) error {
	if e == nil {
		return nil
	}
	old, err := tx.r().EvalByID(nil, e.ID)
	if err != nil {
		return err
	}
	// e is freshly decoded and owned by this command.
	e.Namespace = nsOrDefault(e.Namespace)
	e.CreateIndex = tx.index
	if old != nil {
		e.CreateIndex = old.CreateIndex
	}
	e.ModifyIndex = tx.index
	return tx.insert(TableEvals, e)
}
