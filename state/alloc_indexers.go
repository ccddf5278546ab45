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

// allocKeyIndex is the "id" index of one alloc key table: the part's fields
// then the alloc ID, each NUL-terminated (the terminal flag is one byte, 0
// or 1), computed without reflection. Queries give a prefix of the fields
// (every field of the part but the ID, or for the node part just the node
// ID) and iterate the rows under it.
type allocKeyIndex struct{ part keyPart }

func (x allocKeyIndex) FromObject(obj any) (bool, []byte, error) {
	k, ok := obj.(*allocKeys)
	if !ok {
		return false, nil, fmt.Errorf("%s index: got %T", keyTables[x.part], obj)
	}
	if !k.has(x.part) {
		return false, nil, nil
	}
	var b []byte
	switch x.part {
	case partNode:
		b = make([]byte, 0, len(k.NodeID)+len(k.ID)+3)
		b = append(b, k.NodeID...)
		b = append(b, 0, boolByte(k.Terminal))
	case partJob:
		b = make([]byte, 0, len(k.Namespace)+len(k.JobID)+len(k.ID)+3)
		b = append(b, k.Namespace...)
		b = append(b, 0)
		b = append(b, k.JobID...)
		b = append(b, 0)
	}
	b = append(b, k.ID...)
	return true, append(b, 0), nil
}

// FromArgs takes the part's leading fields: node ID [, terminal bool] for
// the node part, namespace and job ID for the job part; an alloc ID may
// follow for an exact row.
func (x allocKeyIndex) FromArgs(args ...any) ([]byte, error) {
	kinds := "sss" // namespace, job ID, alloc ID
	if x.part == partNode {
		kinds = "sbs"
	}
	if len(args) == 0 || len(args) > len(kinds) || (x.part == partJob && len(args) < 2) {
		return nil, fmt.Errorf("%s index: %d arguments", keyTables[x.part], len(args))
	}
	var b []byte
	for i, arg := range args {
		switch v := arg.(type) {
		case string:
			if kinds[i] != 's' {
				return nil, fmt.Errorf("%s index: argument %d must be a bool: %#v", keyTables[x.part], i, arg)
			}
			b = append(append(b, v...), 0)
		case bool:
			if kinds[i] != 'b' {
				return nil, fmt.Errorf("%s index: argument %d must be a string: %#v", keyTables[x.part], i, arg)
			}
			b = append(b, boolByte(v))
		default:
			return nil, fmt.Errorf("%s index: argument %d: unexpected %T", keyTables[x.part], i, arg)
		}
	}
	return b, nil
}

// PrefixFromArgs is FromArgs: every argument is matched whole.
func (x allocKeyIndex) PrefixFromArgs(args ...any) ([]byte, error) { return x.FromArgs(args...) }

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}
