package state

import (
	"maps"

	"github.com/rejoinhq/rejoin/structs"
)

// borrowedCommand reports whether ApplyCommand may apply req as command t
// directly, without an encode/decode round trip. Such a command is
// "borrowed": it belongs to the caller, so applying it must copy whatever
// it keeps (writeTxn.borrowed), and must produce the same state as the
// decoded payload would: the same values, with nil and empty kept apart as
// msgpack keeps them. Only the hot client update is borrowed.
func borrowedCommand(t structs.MessageType, req any) bool {
	r, ok := req.(*structs.AllocUpdateRequest)
	return ok && r != nil && t == structs.AllocClientUpdateRequestType
}

// copyTaskStates deep-copies task states, keeping nil and empty apart.
func copyTaskStates(m map[string]*structs.TaskState) map[string]*structs.TaskState {
	if m == nil {
		return nil
	}
	c := maps.Clone(m)
	for k, v := range c {
		c[k] = v.Copy()
	}
	return c
}
