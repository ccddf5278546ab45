package state

import (
	"maps"

	"github.com/rejoinhq/rejoin/structs"
)

// ownedCommand returns a private copy of req holding exactly what applying
// command t reads from it, for the command types ApplyCommand applies
// without an encode/decode round trip; nil for the others. The copy must
// make the command produce the same state as the decoded payload would:
// the same values, and nil and empty kept apart as msgpack keeps them.
func ownedCommand(t structs.MessageType, req any) any {
	r, ok := req.(*structs.AllocUpdateRequest)
	if !ok || t != structs.AllocClientUpdateRequestType || r == nil {
		return nil
	}
	c := &structs.AllocUpdateRequest{NodeID: r.NodeID, UpdatedAt: r.UpdatedAt}
	if r.Alloc != nil {
		c.Alloc = make([]*structs.Allocation, len(r.Alloc))
		for i, a := range r.Alloc {
			if a == nil {
				continue
			}
			c.Alloc[i] = &structs.Allocation{ID: a.ID, ClientStatus: a.ClientStatus,
				ClientDescription: a.ClientDescription, TaskStates: copyTaskStates(a.TaskStates)}
		}
	}
	if r.Evals != nil {
		c.Evals = make([]*structs.Evaluation, len(r.Evals))
		for i, e := range r.Evals {
			c.Evals[i] = e.Copy()
		}
	}
	return c
}

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
