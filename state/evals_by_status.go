package state

import (
	"encoding/binary"
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// evalStatusIndex is the evals table's "status" index: Status
// NUL-terminated, then ModifyIndex as 8 big-endian bytes, so the
// evaluations of one status sort by the index of their last write. Reads
// of one status give the status alone (a prefix); reads of what changed
// since an index give both and seek to them (EvalsByStatusSince).
// Evaluations without a status are not indexed.
type evalStatusIndex struct{}

func (evalStatusIndex) FromObject(obj any) (bool, []byte, error) {
	e, ok := obj.(*structs.Evaluation)
	if !ok {
		return false, nil, fmt.Errorf("evals status index: got %T", obj)
	}
	if e.Status == "" {
		return false, nil, nil
	}
	return true, evalStatusKey(e.Status, e.ModifyIndex, true), nil
}

// FromArgs takes the status and, optionally, a ModifyIndex.
func (evalStatusIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("evals status index: want 1 or 2 arguments, got %d", len(args))
	}
	status, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("evals status index: status must be a string: %#v", args[0])
	}
	if len(args) == 1 {
		return evalStatusKey(status, 0, false), nil
	}
	idx, ok := args[1].(uint64)
	if !ok {
		return nil, fmt.Errorf("evals status index: modify index must be a uint64: %#v", args[1])
	}
	return evalStatusKey(status, idx, true), nil
}

func evalStatusKey(status string, modifyIndex uint64, withIndex bool) []byte {
	b := make([]byte, len(status)+1, len(status)+9)
	copy(b, status)
	if withIndex {
		b = binary.BigEndian.AppendUint64(b, modifyIndex)
	}
	return b
}
