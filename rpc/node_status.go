package rpc

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Register creates a node (status initializing) or updates an existing
// node's fields; re-registering never changes a node's status (rule 6). An
// existing node can be re-registered only with its own SecretID. The node's
// heartbeat timer starts unless it is down.
func (n *Node) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	const method = "Node.Register"
	if args == nil || args.Node == nil {
		return n.reject(method, "", rejectf(structs.ErrInvalidRequest, "missing node"))
	}
	id := args.Node.ID
	if id == "" {
		return n.reject(method, "", rejectf(structs.ErrInvalidRequest, "missing node ID"))
	}
	if args.Node.SecretID == "" {
		return n.reject(method, id, rejectf(structs.ErrInvalidRequest, "node %q: missing secret ID", id))
	}
	unlock := n.locks.Lock(id)
	defer unlock()

	existing, err := n.store.NodeByID(nil, id)
	if err != nil {
		return n.reject(method, id, fmt.Errorf("%w: reading node %q: %w", ErrInternal, id, err))
	}
	node := args.Node.Copy()
	// Server-owned fields: the client does not get to set them.
	node.CreateIndex, node.ModifyIndex = 0, 0
	node.LastMissedHeartbeatIndex, node.LastAllocUpdateIndex = 0, 0
	if existing == nil {
		node.Status, node.StatusDescription = structs.NodeStatusInit, ""
	} else {
		if !secretEqual(existing.SecretID, args.Node.SecretID) {
			return n.reject(method, id, rejectf(structs.ErrPermissionDenied,
				"node %q is registered with another secret ID", id))
		}
		node.Status, node.StatusDescription = existing.Status, existing.StatusDescription
	}
	cmd := &structs.NodeRegisterRequest{Node: node, UpdatedAt: n.clock.Now().UnixNano()}
	index, _, err := n.store.ApplyCommand(structs.NodeRegisterRequestType, cmd)
	if err != nil {
		return n.reject(method, id, err)
	}
	ttl, err := n.heartbeat(id, node.Status)
	if err != nil {
		return n.reject(method, id, err)
	}
	*reply = structs.NodeUpdateResponse{HeartbeatTTL: ttl, NodeModifyIndex: index, Index: index}
	return nil
}

// UpdateStatus is the heartbeat. It validates the status and the transition
// (rule 6), restarts the node's heartbeat timer (stops it for down), and
// writes only when the status changes, together with node-update
// evaluations for the node's jobs. A node becoming ready also brings, in
// the same write, a node-update evaluation for every system job and the
// unblocking of every blocked job (readyEvals).
func (n *Node) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	const method = "Node.UpdateStatus"
	if args == nil {
		return n.reject(method, "", rejectf(structs.ErrInvalidRequest, "empty request"))
	}
	id := args.NodeID
	if !structs.ValidNodeStatus(args.Status) {
		return n.reject(method, id, transitionError(id, "", args.Status))
	}
	unlock := n.locks.Lock(id)
	defer unlock()

	node, err := n.authNode(id, args.SecretID)
	if err != nil {
		return n.reject(method, id, err)
	}
	if err := structs.ValidateNodeTransition(node.Status, args.Status); err != nil {
		return n.reject(method, id, transitionError(id, node.Status, args.Status))
	}
	ttl, err := n.heartbeat(id, args.Status)
	if err != nil {
		return n.reject(method, id, err)
	}
	if node.Status == args.Status {
		// A plain heartbeat: nothing to write.
		*reply = structs.NodeUpdateResponse{HeartbeatTTL: ttl, NodeModifyIndex: node.ModifyIndex, Index: node.ModifyIndex}
		return nil
	}
	now := n.clock.Now()
	var evals []*structs.Evaluation
	if needsNodeEvals(node.Status, args.Status) {
		if evals, err = n.nodeEvals(id, args.Status, now); err != nil {
			return n.reject(method, id, err)
		}
	}
	cmd := &structs.NodeUpdateStatusRequest{
		NodeID:            id,
		Status:            args.Status,
		StatusDescription: args.StatusDescription,
		UpdatedAt:         now.UnixNano(),
		Evals:             evals,
	}
	index, _, err := n.store.ApplyCommand(structs.NodeUpdateStatusRequestType, cmd)
	if err != nil {
		return n.reject(method, id, err)
	}
	*reply = structs.NodeUpdateResponse{HeartbeatTTL: ttl, NodeModifyIndex: index, Index: index}
	for _, e := range evals {
		if e.Status == structs.EvalStatusPending { // not the blocked ones completed
			reply.EvalIDs = append(reply.EvalIDs, e.ID)
		}
	}
	n.logger.Debug("node status changed", "node_id", id, "from", node.Status, "to", args.Status,
		"index", index, "evals", len(evals))
	return nil
}

// heartbeat restarts the node's timer, or stops it for a node going down.
func (n *Node) heartbeat(nodeID, status string) (time.Duration, error) {
	if status == structs.NodeStatusDown {
		n.hb.ClearHeartbeatTimer(nodeID)
		return 0, nil
	}
	ttl, err := n.hb.ResetHeartbeatTimer(nodeID)
	if err != nil {
		return 0, fmt.Errorf("%w: heartbeat timer for node %q: %w", ErrInternal, nodeID, err)
	}
	return ttl, nil
}

// needsNodeEvals says whether a status change makes the node's jobs need a
// look: moving into or out of disconnected or down, and a new node becoming
// ready.
func needsNodeEvals(from, to string) bool {
	return structs.ShouldDrainNode(from) || structs.ShouldDrainNode(to) ||
		(from == structs.NodeStatusInit && to == structs.NodeStatusReady)
}

// nodeEvals returns one pending node-update evaluation per job with an
// allocation on the node and, when the node becomes ready, readyEvals.
func (n *Node) nodeEvals(nodeID, to string, now time.Time) ([]*structs.Evaluation, error) {
	allocs, err := n.store.AllocsByNode(nil, nodeID)
	if err != nil {
		return nil, fmt.Errorf("%w: reading allocs of node %q: %w", ErrInternal, nodeID, err)
	}
	ev := newEvalSet(n)
	for _, a := range allocs {
		if err := ev.add(a, nodeID, structs.EvalTriggerNodeUpdate, now); err != nil {
			return nil, err
		}
	}
	if to == structs.NodeStatusReady {
		if err := n.readyEvals(ev, nodeID, now); err != nil {
			return nil, err
		}
	}
	return ev.evals, nil
}

// readyEvals adds what a node becoming ready calls for beyond its own
// jobs: a node-update evaluation for every system job that is not stopped
// (it may need an alloc on the node), and the unblocking of every job with
// a blocked evaluation (placements that found no node may fit now): the
// blocked evaluation completed plus a pending queued-allocs retry, or only
// the completion when the job already gets an evaluation here. New nodes
// register as initializing, so their move to ready is covered too.
//
// It reads the system jobs and the blocked evaluations (both indexed), not
// every job: the cost of a node becoming ready grows with those only. The
// evaluations come out in the order of the jobs (namespace, then ID), a
// job's system evaluation before its unblocking, as if every job had been
// visited.
func (n *Node) readyEvals(ev *evalSet, nodeID string, now time.Time) error {
	snap := n.store.Snapshot()
	system, err := snap.JobsByType(nil, structs.JobTypeSystem)
	if err != nil {
		return fmt.Errorf("%w: reading system jobs: %w", ErrInternal, err)
	}
	blocked, err := jobsBlocked(snap)
	if err != nil {
		return err
	}
	for len(system) > 0 || len(blocked) > 0 {
		// Merge the two lists, both in job order.
		var j *structs.Job
		var b *structs.Evaluation
		switch {
		case len(blocked) == 0:
			j, system = system[0], system[1:]
		case len(system) == 0:
			b, blocked = blocked[0], blocked[1:]
		default:
			switch c := compareJob(system[0].NamespacedID().Namespace, system[0].ID, blocked[0].Namespace, blocked[0].JobID); {
			case c < 0:
				j, system = system[0], system[1:]
			case c > 0:
				b, blocked = blocked[0], blocked[1:]
			default:
				j, system = system[0], system[1:]
				b, blocked = blocked[0], blocked[1:]
			}
		}
		if j != nil && !j.Stop {
			ev.addJob(j.NamespacedID().Namespace, j.ID, j, nodeID, structs.EvalTriggerNodeUpdate, now)
		}
		if b != nil {
			retry := !ev.hasJob(b.Namespace, b.JobID)
			ev.evals = append(ev.evals, reconcile.UnblockEvals(b, nodeID, now, n.newID, retry)...)
		}
	}
	return nil
}

// jobsBlocked returns the blocked evaluations of jobs the store has, one
// per job (the one under its BlockedEvalID), in job order.
func jobsBlocked(snap *state.Snapshot) ([]*structs.Evaluation, error) {
	evals, err := snap.EvalsByStatus(nil, structs.EvalStatusBlocked)
	if err != nil {
		return nil, fmt.Errorf("%w: reading blocked evaluations: %w", ErrInternal, err)
	}
	out := evals[:0:0]
	for _, e := range evals {
		if e.ID != reconcile.BlockedEvalID(e.Namespace, e.JobID) {
			continue // not a job's blocked evaluation: nothing unblocks it
		}
		job, err := snap.JobByID(nil, e.Namespace, e.JobID)
		if err != nil {
			return nil, fmt.Errorf("%w: reading job %s/%s: %w", ErrInternal, e.Namespace, e.JobID, err)
		}
		if job != nil {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b *structs.Evaluation) int {
		return compareJob(a.Namespace, a.JobID, b.Namespace, b.JobID)
	})
	return out, nil
}

// compareJob orders jobs by namespace, then ID, as the store lists them.
func compareJob(ns1, id1, ns2, id2 string) int {
	return cmp.Or(cmp.Compare(ns1, ns2), cmp.Compare(id1, id2))
}

// transitionError is a *structs.NodeTransitionError naming the node.
func transitionError(nodeID, from, to string) error {
	err := structs.ValidateNodeTransition(from, to)
	var te *structs.NodeTransitionError
	if errors.As(err, &te) {
		te.NodeID = nodeID
	}
	return err
}
