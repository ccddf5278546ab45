package state

import (
	"github.com/rejoinhq/rejoin/structs"
)

// allocClientUpdate applies a client's report of its allocations. Broken or
// hostile input rejects the whole command; honest races skip single allocs
// (ARCHITECTURE rule 7). A client changes only ClientStatus,
// ClientDescription and TaskStates.
//
// It reads everything first and writes after: a read of an index the write
// transaction already modified makes go-memdb clone it, which drops the
// radix tree's cache of nodes already copied, so interleaving reads and
// inserts would copy each alloc's whole tree path again (measured 10x slower
// at 1,000 allocs).
func (tx *writeTxn) allocClientUpdate(req *structs.AllocUpdateRequest) (*structs.AllocUpdateResult, error) {
	if err := validateClientUpdate(tx.cmd, req); err != nil {
		return nil, err
	}

	res := &structs.AllocUpdateResult{Applied: make([]string, 0, len(req.Alloc))}
	r := tx.r()
	// changed holds the new version of every applied alloc, so an alloc
	// named twice builds on its first update; order is their write order.
	changed := make(map[string]*structs.Allocation, len(req.Alloc))
	order := make([]allocWrite, 0, len(req.Alloc))
	// nodes caches each node looked up; touched lists, in order, the nodes
	// with an applied alloc: their LastAllocUpdateIndex moves.
	nodes := make(map[string]*nodeSeen, 1)
	var touched []*structs.Node
	canceled := map[string]*structs.Evaluation{}
	var cancelOrder []*structs.Evaluation
	for _, u := range req.Alloc {
		stored := changed[u.ID]
		if stored == nil {
			var err error
			if stored, err = r.AllocByID(nil, u.ID); err != nil {
				return nil, err
			}
		}
		if stored == nil {
			res.Skipped = append(res.Skipped, &structs.AllocUpdateSkip{AllocID: u.ID, NodeID: req.NodeID, Reason: structs.SkipUnknownAlloc})
			continue
		}
		if req.NodeID != "" && stored.NodeID != req.NodeID {
			res.Skipped = append(res.Skipped, &structs.AllocUpdateSkip{AllocID: u.ID, NodeID: stored.NodeID, Reason: structs.SkipWrongNode})
			continue
		}
		seen := nodes[stored.NodeID]
		if seen == nil {
			n, err := r.NodeByID(nil, stored.NodeID)
			if err != nil {
				return nil, err
			}
			seen = &nodeSeen{node: n}
			nodes[stored.NodeID] = seen
		}
		if seen.node == nil || !seen.node.Ready() {
			res.Skipped = append(res.Skipped, &structs.AllocUpdateSkip{AllocID: u.ID, NodeID: stored.NodeID, Reason: structs.SkipNodeNotReady})
			continue
		}
		if stored.ClientTerminalStatus() && u.ClientStatus != stored.ClientStatus {
			res.Skipped = append(res.Skipped, &structs.AllocUpdateSkip{AllocID: u.ID, NodeID: stored.NodeID, Reason: structs.SkipClientTerminal})
			continue
		}

		a, again := changed[u.ID]
		if !again {
			a = stored.CopySkipStates()
			changed[u.ID] = a
			order = append(order, allocWrite{old: stored, new: a})
		}
		a.ClientStatus = u.ClientStatus
		a.ClientDescription = u.ClientDescription
		a.TaskStates = u.TaskStates
		if tx.borrowed {
			a.TaskStates = copyTaskStates(u.TaskStates)
		}
		a.ModifyTime = req.UpdatedAt
		a.ModifyIndex = tx.index
		if a.NeedsToReconnect() && a.FollowupEvalID != "" {
			e, err := tx.disconnectFollowup(a.FollowupEvalID, canceled)
			if err != nil {
				return nil, err
			}
			if e != nil {
				a.FollowupEvalID = ""
				if canceled[e.ID] == nil {
					canceled[e.ID] = e
					cancelOrder = append(cancelOrder, e)
				}
			}
		}
		res.Applied = append(res.Applied, u.ID)
		if !seen.applied {
			seen.applied = true
			touched = append(touched, seen.node)
		}
	}

	// Write phase.
	for _, w := range order {
		if err := tx.putAlloc(w.old, w.new); err != nil {
			return nil, err
		}
	}
	for _, n := range touched {
		c := n.Copy()
		c.LastAllocUpdateIndex = tx.index
		if err := tx.insert(TableNodes, c); err != nil {
			return nil, err
		}
	}
	for _, e := range cancelOrder {
		if err := tx.insert(TableEvals, e); err != nil {
			return nil, err
		}
	}
	evals := req.Evals
	if tx.borrowed {
		evals = make([]*structs.Evaluation, len(req.Evals))
		for i, e := range req.Evals {
			evals[i] = e.Copy()
		}
	}
	if err := tx.upsertEvals(evals); err != nil {
		return nil, err
	}
	return res, nil
}

// validateClientUpdate rejects what only a broken or hostile client sends.
func validateClientUpdate(t structs.MessageType, req *structs.AllocUpdateRequest) error {
	if len(req.Alloc) == 0 {
		return invalid(t, "no allocations")
	}
	for i, u := range req.Alloc {
		switch {
		case u == nil || u.ID == "":
			return invalid(t, "allocation %d has no ID", i)
		case !structs.ValidClientStatus(u.ClientStatus):
			return invalid(t, "alloc %q: invalid client status %q", u.ID, u.ClientStatus)
		case structs.ServerOnlyClientStatus(u.ClientStatus):
			return invalid(t, "alloc %q: client status %q is set only by the server", u.ID, u.ClientStatus)
		}
	}
	return validateEvals(t, req.Evals)
}

// disconnectFollowup returns the canceled version of a reconnecting alloc's
// pending max-disconnect-timeout evaluation (the alloc is back, so it will
// not be lost), or nil when the evaluation is anything else, which is left
// alone. Allocs that disconnected together share one follow-up, so an
// evaluation this command already canceled counts as well.
func (tx *writeTxn) disconnectFollowup(evalID string, canceled map[string]*structs.Evaluation) (*structs.Evaluation, error) {
	if e := canceled[evalID]; e != nil {
		return e, nil
	}
	e, err := tx.r().EvalByID(nil, evalID)
	if err != nil || e == nil {
		return nil, err
	}
	if e.Status != structs.EvalStatusPending || e.TriggeredBy != structs.EvalTriggerMaxDisconnectTimeout {
		return nil, nil
	}
	c := e.Copy()
	c.Status = structs.EvalStatusCanceled
	c.ModifyIndex = tx.index
	return c, nil
}

// nodeSeen is a node an AllocClientUpdate looked up, and whether one of its
// allocs applied.
type nodeSeen struct {
	node    *structs.Node
	applied bool
}

// allocWrite is a changed alloc and its stored version.
type allocWrite struct {
	old, new *structs.Allocation
}
