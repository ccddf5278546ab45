package state

import (
	"errors"
	"slices"

	"github.com/rejoinhq/rejoin/structs"
)

// nodeRegister creates a node, or updates an existing one's fields other
// than its status and the indexes the store maintains (rule 6:
// re-registering never changes the status).
func (tx *writeTxn) nodeRegister(req *structs.NodeRegisterRequest) error {
	n := req.Node
	if n == nil || n.ID == "" {
		return invalid(tx.cmd, "node ID is required")
	}
	old, err := tx.r().NodeByID(nil, n.ID)
	if err != nil {
		return err
	}
	// req is freshly decoded and owned by this command: store it as is.
	if old == nil {
		if !structs.ValidNodeStatus(n.Status) {
			n.Status = structs.NodeStatusInit
		}
		n.StatusUpdatedAt = req.UpdatedAt / 1e9
		n.LastAllocUpdateIndex = 0
		n.LastMissedHeartbeatIndex = 0
		if structs.ShouldDrainNode(n.Status) {
			n.LastMissedHeartbeatIndex = tx.index
		}
		n.CreateIndex = tx.index
	} else {
		n.Status = old.Status
		n.StatusDescription = old.StatusDescription
		n.StatusUpdatedAt = old.StatusUpdatedAt
		n.LastMissedHeartbeatIndex = old.LastMissedHeartbeatIndex
		n.LastAllocUpdateIndex = old.LastAllocUpdateIndex
		n.CreateIndex = old.CreateIndex
	}
	n.ModifyIndex = tx.index
	return tx.insert(TableNodes, n)
}

// nodeDeregister deletes nodes; one unknown ID rejects the whole command.
func (tx *writeTxn) nodeDeregister(req *structs.NodeDeregisterRequest) error {
	if len(req.NodeIDs) == 0 {
		return invalid(tx.cmd, "no node IDs")
	}
	ids := slices.Clone(req.NodeIDs)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	nodes := make([]*structs.Node, 0, len(ids))
	for _, id := range ids {
		n, err := tx.r().NodeByID(nil, id)
		if err != nil {
			return err
		}
		if n == nil {
			return unknownNode(id)
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := tx.delete(TableNodes, n); err != nil {
			return err
		}
	}
	return nil
}

// nodeUpdateStatus moves a node to a new status (rule 6) and creates the
// evaluations that change calls for, in one write.
func (tx *writeTxn) nodeUpdateStatus(req *structs.NodeUpdateStatusRequest) error {
	if req.NodeID == "" {
		return invalid(tx.cmd, "node ID is required")
	}
	if err := validateEvals(tx.cmd, req.Evals); err != nil {
		return err
	}
	old, err := tx.r().NodeByID(nil, req.NodeID)
	if err != nil {
		return err
	}
	if old == nil {
		return unknownNode(req.NodeID)
	}
	if err := structs.ValidateNodeTransition(old.Status, req.Status); err != nil {
		var te *structs.NodeTransitionError
		if errors.As(err, &te) {
			te.NodeID = req.NodeID
		}
		return err
	}
	n := old.Copy()
	switch {
	case req.Status == structs.NodeStatusReady:
		n.LastMissedHeartbeatIndex = 0
	case structs.ShouldDrainNode(req.Status) && req.Status != old.Status:
		n.LastMissedHeartbeatIndex = tx.index
	}
	n.Status = req.Status
	n.StatusDescription = req.StatusDescription
	n.StatusUpdatedAt = req.UpdatedAt / 1e9
	n.ModifyIndex = tx.index
	if err := tx.insert(TableNodes, n); err != nil {
		return err
	}
	return tx.upsertEvals(req.Evals)
}
