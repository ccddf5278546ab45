package state

import (
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// allocIDIndex is the allocs table's primary key, ID, typed rather than
// memdb's reflective StringFieldIndex because a client update computes it
// twice per alloc (new and stored object): the same NUL-terminated key, one
// allocation, no reflection.
type allocIDIndex struct{}

func (allocIDIndex) FromObject(obj any) (bool, []byte, error) {
	a, ok := obj.(*structs.Allocation)
	if !ok {
		return false, nil, fmt.Errorf("allocs id index: got %T", obj)
	}
	if a.ID == "" {
		return false, nil, nil
	}
	return true, nulTerminated(a.ID), nil
}

func (allocIDIndex) FromArgs(args ...any) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("allocs id index: want 1 argument, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("allocs id index: argument must be a string: %#v", args[0])
	}
	return nulTerminated(s), nil
}

func nulTerminated(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}
