package state

import (
	"github.com/rejoinhq/rejoin/structs"
)

// allocClientUpdate applies a client's report of its allocations. Broken or
// hostile input rejects the whole command; honest races skip single allocs
// (ARCHITECTURE rule 7). A client changes only ClientStatus,
// ClientDescription and TaskStates.
func (tx *writeTxn) allocClientUpdate(req *structs.AllocUpdateRequest) (*structs.AllocUpdateResult, error) {
	if len(req.Alloc) == 0 {
		return nil, invalid(tx.cmd, "no allocations")
	}
	for i, u := range req.Alloc {
		switch {
		case u == nil || u.ID == "":
			return nil, invalid(tx.cmd, "allocation %d has no ID", i)
		case !structs.ValidClientStatus(u.ClientStatus):
			return nil, invalid(tx.cmd, "alloc %q: invalid client status %q", u.ID, u.ClientStatus)
		case structs.ServerOnlyClientStatus(u.ClientStatus):
			return nil, invalid(tx.cmd, "alloc %q: client status %q is set only by the server", u.ID, u.ClientStatus)
		}
	}
	if err := validateEvals(tx.cmd, req.Evals); err != nil {
		return nil, err
	}

	res := &structs.AllocUpdateResult{Applied: make([]string, 0, len(req.Alloc))}
	r := tx.r()
	// nodes caches each node looked up by this command; touched lists, in
	// order, the nodes with an applied alloc: their LastAllocUpdateIndex moves.
	nodes := make(map[string]*nodeSeen, 1)
	var touched []*structs.Node
	canceled := map[string]bool{}
	for _, u := range req.Alloc {
		stored, err := r.AllocByID(nil, u.ID)
		if err != nil {
			return nil, err
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

		a := stored.CopySkipStates()
		a.ClientStatus = u.ClientStatus
		a.ClientDescription = u.ClientDescription
		// u is freshly decoded and owned by this command, so its TaskStates
		// are already a private deep copy.
		a.TaskStates = u.TaskStates
		a.ModifyTime = req.UpdatedAt
		a.ModifyIndex = tx.index
		if stored.NeedsToReconnect() && stored.FollowupEvalID != "" {
			cleared, err := tx.cancelDisconnectFollowup(stored.FollowupEvalID, canceled)
			if err != nil {
				return nil, err
			}
			if cleared {
				a.FollowupEvalID = ""
			}
		}
		if err := tx.insert(TableAllocs, a); err != nil {
			return nil, err
		}
		res.Applied = append(res.Applied, u.ID)
		if !seen.applied {
			seen.applied = true
			touched = append(touched, seen.node)
		}
	}
	for _, n := range touched {
		c := n.Copy()
		c.LastAllocUpdateIndex = tx.index
		if err := tx.insert(TableNodes, c); err != nil {
			return nil, err
		}
	}
	if err := tx.upsertEvals(req.Evals); err != nil {
		return nil, err
	}
	return res, nil
}

// cancelDisconnectFollowup cancels the pending max-disconnect-timeout
// evaluation of a reconnecting alloc: the alloc is back, so it will not be
// lost. It reports whether the alloc's FollowupEvalID should be cleared: the
// eval was canceled now, by this or an earlier alloc of the same command
// (allocs that disconnected together share one follow-up). Any other
// evaluation is left alone.
func (tx *writeTxn) cancelDisconnectFollowup(evalID string, canceled map[string]bool) (bool, error) {
	if canceled[evalID] {
		return true, nil
	}
	e, err := tx.r().EvalByID(nil, evalID)
	if err != nil || e == nil {
		return false, err
	}
	if e.Status != structs.EvalStatusPending || e.TriggeredBy != structs.EvalTriggerMaxDisconnectTimeout {
		return false, nil
	}
	c := e.Copy()
	c.Status = structs.EvalStatusCanceled
	c.ModifyIndex = tx.index
	if err := tx.insert(TableEvals, c); err != nil {
		return false, err
	}
	canceled[evalID] = true
	return true, nil
}

// nodeSeen is a node an AllocClientUpdate looked up, and whether one of its
// allocs applied.
type nodeSeen struct {
	node    *structs.Node
	applied bool
}
