package rpc

import (
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// allocEntry is one validated UpdateAlloc call waiting in a batch.
type allocEntry struct {
	nodeID  string
	allocs  []*structs.Allocation // what the command applies
	evals   []*structs.Evaluation // created with it (deduplicated per batch)
	skipped []*structs.AllocUpdateSkip
	done    chan allocResult // buffered: the flusher never blocks on it
}

type allocResult struct {
	index   uint64
	skipped []*structs.AllocUpdateSkip
	err     error
}

// UpdateAlloc applies a client's report of its allocations. The whole call
// is refused, with nothing applied, for what only a broken or hostile client
// sends (rule 7): an empty request, an unknown node, a wrong secret, a node
// that is not ready (rule 1: heartbeat first), another node's alloc, or a
// server-only status. What honest races produce is skipped per alloc and
// reported in reply.Skipped while the rest applies: an alloc the server no
// longer knows, or one it holds as client-terminal that the update would
// move to another status. Calls arriving within the batch window are
// applied as one write; each caller gets that write's index.
func (n *Node) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) error {
	const method = "Node.UpdateAlloc"
	if err := validateAllocUpdate(args); err != nil {
		nodeID := ""
		if args != nil {
			nodeID = args.NodeID
		}
		return n.reject(method, nodeID, err)
	}
	id := args.NodeID
	unlock := n.locks.Lock(id)
	defer unlock()

	node, err := n.authNode(id, args.SecretID)
	if err != nil {
		return n.reject(method, id, err)
	}
	if !node.Ready() {
		return n.reject(method, id, &NodeNotReadyError{NodeID: id, Status: node.Status})
	}
	entry, err := n.prepareAllocUpdate(id, args)
	if err != nil {
		return n.reject(method, id, err)
	}
	for _, s := range entry.skipped {
		n.logger.Debug("alloc update skipped", "node_id", id, "alloc_id", s.AllocID, "reason", s.Reason)
	}
	if len(entry.allocs) == 0 {
		// Everything was skipped: nothing to write.
		*reply = structs.AllocUpdateResponse{Index: n.store.LatestIndex(), Skipped: entry.skipped}
		return nil
	}
	// The node lock stays held until the batch is applied, so this node's
	// next call sees the result of this one.
	res := n.batch.submit(entry)
	if res.err != nil {
		return n.reject(method, id, res.err)
	}
	*reply = structs.AllocUpdateResponse{Index: res.index, Skipped: res.skipped}
	return nil
}

// validateAllocUpdate checks what needs no store: shape and statuses.
func validateAllocUpdate(args *structs.AllocUpdateRequest) error {
	if args == nil {
		return rejectf(structs.ErrInvalidRequest, "empty request")
	}
	if args.NodeID == "" {
		return rejectf(structs.ErrInvalidRequest, "missing node ID")
	}
	if len(args.Alloc) == 0 {
		return rejectf(structs.ErrInvalidRequest, "node %q: no allocations in update", args.NodeID)
	}
	for i, a := range args.Alloc {
		switch {
		case a == nil:
			return rejectf(structs.ErrInvalidRequest, "node %q: allocation %d is empty", args.NodeID, i)
		case a.ID == "":
			return rejectf(structs.ErrInvalidRequest, "node %q: allocation %d has no ID", args.NodeID, i)
		case !structs.ValidClientStatus(a.ClientStatus):
			return rejectf(structs.ErrInvalidRequest, "node %q: alloc %q: invalid client status %q",
				args.NodeID, a.ID, a.ClientStatus)
		case structs.ServerOnlyClientStatus(a.ClientStatus):
			return rejectf(structs.ErrInvalidRequest, "node %q: alloc %q: client status %q is set only by the server",
				args.NodeID, a.ID, a.ClientStatus)
		}
	}
	return nil
}

// prepareAllocUpdate checks each alloc against the store and builds the
// batch entry: the allocs to apply, the per-alloc skips, and the
// evaluations the update calls for (reconnect for an alloc the server holds
// as unknown, alloc-failure for one that just failed).
func (n *Node) prepareAllocUpdate(nodeID string, args *structs.AllocUpdateRequest) (*allocEntry, error) {
	e := &allocEntry{nodeID: nodeID, done: make(chan allocResult, 1)}
	now := n.clock.Now()
	ev := newEvalSet(n)
	snap := n.store.Snapshot() // one read view for all the allocs
	for _, u := range args.Alloc {
		stored, err := snap.AllocByID(nil, u.ID)
		if err != nil {
			return nil, fmt.Errorf("%w: reading alloc %q: %w", ErrInternal, u.ID, err)
		}
		if stored == nil {
			e.skipped = append(e.skipped, &structs.AllocUpdateSkip{AllocID: u.ID, NodeID: nodeID, Reason: structs.SkipUnknownAlloc})
			continue
		}
		if stored.NodeID != nodeID {
			return nil, rejectf(structs.ErrPermissionDenied, "node %q: alloc %q belongs to another node", nodeID, u.ID)
		}
		if stored.ClientTerminalStatus() && u.ClientStatus != stored.ClientStatus {
			e.skipped = append(e.skipped, &structs.AllocUpdateSkip{AllocID: u.ID, NodeID: nodeID, Reason: structs.SkipClientTerminal})
			continue
		}
		// Only what the client owns goes into the command.
		e.allocs = append(e.allocs, &structs.Allocation{
			ID:                u.ID,
			NodeID:            nodeID,
			ClientStatus:      u.ClientStatus,
			ClientDescription: u.ClientDescription,
			TaskStates:        u.TaskStates,
		})
		if stored.ClientStatus == structs.AllocClientStatusUnknown {
			if err := ev.add(stored, nodeID, structs.EvalTriggerReconnect, now); err != nil {
				return nil, err
			}
		}
		if u.ClientStatus == structs.AllocClientStatusFailed &&
			stored.ClientStatus != structs.AllocClientStatusFailed && !stored.ServerTerminalStatus() {
			if err := ev.add(stored, nodeID, structs.EvalTriggerRetryFailedAlloc, now); err != nil {
				return nil, err
			}
		}
	}
	e.evals = ev.evals
	return e, nil
}

// applyAllocBatch writes the entries as one AllocClientUpdate command and
// hands every caller its own result. If the store refuses the whole write,
// each entry is retried alone, so one bad caller never fails the others.
func (n *Node) applyAllocBatch(entries []*allocEntry) {
	req := &structs.AllocUpdateRequest{UpdatedAt: n.clock.Now().UnixNano()}
	if len(entries) == 1 {
		req.NodeID = entries[0].nodeID // lets the store check ownership too
	}
	owner := make(map[string]*allocEntry)
	seen := map[evalKey]bool{}
	for _, e := range entries {
		req.Alloc = append(req.Alloc, e.allocs...)
		for _, a := range e.allocs {
			owner[a.ID] = e
		}
		for _, ev := range e.evals {
			k := evalKey{ev.Namespace, ev.JobID, ev.TriggeredBy}
			if !seen[k] {
				seen[k] = true
				req.Evals = append(req.Evals, ev)
			}
		}
	}
	index, raw, err := n.store.ApplyCommand(structs.AllocClientUpdateRequestType, req)
	if err != nil {
		if len(entries) == 1 {
			entries[0].done <- allocResult{err: err}
			return
		}
		n.logger.Warn("batched alloc update refused; applying its calls one by one",
			"calls", len(entries), "error", err)
		for _, e := range entries {
			n.applyAllocBatch([]*allocEntry{e})
		}
		return
	}
	notReady := map[*allocEntry]bool{}
	if res, _ := raw.(*structs.AllocUpdateResult); res != nil {
		for _, s := range res.Skipped {
			e := owner[s.AllocID]
			if e == nil {
				continue
			}
			if s.Reason == structs.SkipNodeNotReady {
				notReady[e] = true
				continue
			}
			c := *s
			c.NodeID = e.nodeID // a batched write does not name the node
			e.skipped = append(e.skipped, &c)
		}
	}
	for _, e := range entries {
		if notReady[e] {
			// The node stopped being ready between the check and the write
			// (its heartbeat expired): to the caller this is rule 1.
			status := "missing"
			if node, err := n.store.NodeByID(nil, e.nodeID); err == nil && node != nil {
				status = node.Status
			}
			e.done <- allocResult{err: &NodeNotReadyError{NodeID: e.nodeID, Status: status}}
			continue
		}
		e.done <- allocResult{index: index, skipped: e.skipped}
	}
}
