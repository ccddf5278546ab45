package rpc

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// OperatorAPI is the read-only surface operators call: nodes with their
// heartbeat state, allocations with their history, and the server's
// status. *Operator serves it in process; *Client over TCP (Node.Get,
// Node.List, Alloc.Get, Operator.Status). Nothing here writes.
type OperatorAPI interface {
	NodeGet(args *NodeGetRequest, reply *NodeInfo) error
	NodeList(args *NodeListRequest, reply *NodeListResponse) error
	AllocGet(args *AllocGetRequest, reply *AllocInfo) error
	ServerStatus(args *ServerStatusRequest, reply *ServerStatusResponse) error
}

// HeartbeatInfo reports what the server knows of a node's heartbeats:
// when it last accepted one, the TTL it told the client, and when it will
// treat the node as missing (zero values: unknown or not tracked).
type HeartbeatInfo interface {
	HeartbeatInfo(nodeID string) (last time.Time, ttl time.Duration, deadline time.Time)
}

// DecisionLog returns the last decision applied to an allocation.
type DecisionLog interface {
	LastDecision(allocID string) (DecisionInfo, bool)
}

// OperatorConfig configures the operator endpoints. Store is required.
type OperatorConfig struct {
	Store interface{ Snapshot() *state.Snapshot }
	// Heartbeats, Decisions and Leader are optional; without them the
	// corresponding fields are left zero.
	Heartbeats HeartbeatInfo
	Decisions  DecisionLog
	Leader     func() bool
}

// Operator serves OperatorAPI from store snapshots. Safe for concurrent
// use; it never blocks writers. Returned objects are copies, and node
// secrets are never returned.
type Operator struct {
	cfg OperatorConfig
}

var _ OperatorAPI = (*Operator)(nil)

// maxChain bounds the replacement chain walked in each direction.
const maxChain = 64

// NewOperator returns the operator endpoints for cfg.
func NewOperator(cfg OperatorConfig) (*Operator, error) {
	if cfg.Store == nil {
		return nil, errors.New("rpc: OperatorConfig.Store is required")
	}
	return &Operator{cfg: cfg}, nil
}

// NodeGet returns one node with its allocations.
func (o *Operator) NodeGet(args *NodeGetRequest, reply *NodeInfo) error {
	if args == nil || args.NodeID == "" {
		return rejectf(structs.ErrInvalidRequest, "missing node ID")
	}
	snap := o.cfg.Store.Snapshot()
	node, err := snap.NodeByID(nil, args.NodeID)
	if err != nil {
		return fmt.Errorf("%w: reading node %q: %w", ErrInternal, args.NodeID, err)
	}
	if node == nil {
		nodes, err := snap.Nodes(nil)
		if err != nil {
			return fmt.Errorf("%w: listing nodes: %w", ErrInternal, err)
		}
		var matches []*structs.Node
		for _, n := range nodes {
			if strings.HasPrefix(n.ID, args.NodeID) {
				matches = append(matches, n)
			}
		}
		if node, err = unique(matches, "node", args.NodeID, structs.ErrUnknownNode, func(n *structs.Node) string { return n.ID }); err != nil {
			return err
		}
	}
	info, err := o.nodeInfo(snap, node, true)
	if err != nil {
		return err
	}
	*reply = *info
	return nil
}

// NodeList returns every node (or those with the ID prefix), sorted by ID.
func (o *Operator) NodeList(args *NodeListRequest, reply *NodeListResponse) error {
	prefix := ""
	if args != nil {
		prefix = args.Prefix
	}
	snap := o.cfg.Store.Snapshot()
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return fmt.Errorf("%w: listing nodes: %w", ErrInternal, err)
	}
	out := NodeListResponse{Nodes: []*NodeInfo{}, Index: snap.Index(state.TableNodes)}
	for _, n := range nodes {
		if !strings.HasPrefix(n.ID, prefix) {
			continue
		}
		info, err := o.nodeInfo(snap, n, false)
		if err != nil {
			return err
		}
		out.Nodes = append(out.Nodes, info)
	}
	*reply = out
	return nil
}

func (o *Operator) nodeInfo(snap *state.Snapshot, n *structs.Node, withAllocs bool) (*NodeInfo, error) {
	c := n.Copy()
	c.SecretID = ""
	info := &NodeInfo{Node: c, AllocsByStatus: map[string]int{}}
	if o.cfg.Heartbeats != nil {
		info.LastHeartbeat, info.HeartbeatTTL, info.HeartbeatDeadline = o.cfg.Heartbeats.HeartbeatInfo(n.ID)
	}
	allocs, err := snap.AllocsByNode(nil, n.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: allocs of node %q: %w", ErrInternal, n.ID, err)
	}
	for _, a := range allocs {
		info.AllocsByStatus[a.ClientStatus]++
		if withAllocs {
			info.Allocs = append(info.Allocs, stubOf(a))
		}
	}
	return info, nil
}

// AllocGet returns one allocation (a deep copy, AllocStates included), its
// replacement chain and the last decision about it.
func (o *Operator) AllocGet(args *AllocGetRequest, reply *AllocInfo) error {
	if args == nil || args.AllocID == "" {
		return rejectf(structs.ErrInvalidRequest, "missing alloc ID")
	}
	snap := o.cfg.Store.Snapshot()
	a, err := snap.AllocByID(nil, args.AllocID)
	if err != nil {
		return fmt.Errorf("%w: reading alloc %q: %w", ErrInternal, args.AllocID, err)
	}
	if a == nil {
		if a, err = allocByPrefix(snap, args.AllocID); err != nil {
			return err
		}
	}
	chain, err := replacementChain(snap, a)
	if err != nil {
		return err
	}
	out := AllocInfo{Alloc: a.Copy(), Chain: chain, Index: snap.LatestIndex()}
	if o.cfg.Decisions != nil {
		if d, ok := o.cfg.Decisions.LastDecision(a.ID); ok {
			out.LastDecision = &d
		}
	}
	*reply = out
	return nil
}

func allocByPrefix(snap *state.Snapshot, prefix string) (*structs.Allocation, error) {
	it, err := snap.Allocs(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: listing allocs: %w", ErrInternal, err)
	}
	var matches []*structs.Allocation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if a := raw.(*structs.Allocation); strings.HasPrefix(a.ID, prefix) {
			matches = append(matches, a)
		}
	}
	return unique(matches, "alloc", prefix, structs.ErrUnknownAlloc, func(a *structs.Allocation) string { return a.ID })
}

// unique returns the one match of an ID prefix, an error matching
// notFound for none, or ErrInvalidRequest for several.
func unique[T any](matches []T, kind, prefix string, notFound error, id func(T) string) (T, error) {
	var zero T
	switch len(matches) {
	case 0:
		return zero, fmt.Errorf("%w %q", notFound, prefix)
	case 1:
		return matches[0], nil
	}
	ids := make([]string, 0, 3)
	for _, m := range matches[:min(3, len(matches))] {
		ids = append(ids, id(m))
	}
	return zero, rejectf(structs.ErrInvalidRequest, "%s ID prefix %q is ambiguous: %d matches (%s, ...)",
		kind, prefix, len(matches), strings.Join(ids, ", "))
}

// replacementChain walks PreviousAllocation back and NextAllocation
// forward from a, oldest first.
func replacementChain(snap *state.Snapshot, a *structs.Allocation) ([]*AllocStub, error) {
	var back []*AllocStub
	seen := map[string]bool{a.ID: true}
	for cur := a; cur.PreviousAllocation != "" && len(back) < maxChain; {
		prev, err := snap.AllocByID(nil, cur.PreviousAllocation)
		if err != nil {
			return nil, fmt.Errorf("%w: reading alloc %q: %w", ErrInternal, cur.PreviousAllocation, err)
		}
		if prev == nil || seen[prev.ID] {
			break // garbage collected, or a corrupt loop
		}
		seen[prev.ID] = true
		back = append(back, stubOf(prev))
		cur = prev
	}
	slices.Reverse(back)
	chain := append(back, stubOf(a))
	for cur, n := a, 0; cur.NextAllocation != "" && n < maxChain; n++ {
		next, err := snap.AllocByID(nil, cur.NextAllocation)
		if err != nil {
			return nil, fmt.Errorf("%w: reading alloc %q: %w", ErrInternal, cur.NextAllocation, err)
		}
		if next == nil || seen[next.ID] {
			break
		}
		seen[next.ID] = true
		chain = append(chain, stubOf(next))
		cur = next
	}
	return chain, nil
}

// ServerStatus returns the state's index, digest and counts, from one
// snapshot. The digest costs a full scan of the state.
func (o *Operator) ServerStatus(_ *ServerStatusRequest, reply *ServerStatusResponse) error {
	snap := o.cfg.Store.Snapshot()
	sum, err := snap.StateHash()
	if err != nil {
		return fmt.Errorf("%w: state hash: %w", ErrInternal, err)
	}
	out := ServerStatusResponse{LatestIndex: snap.LatestIndex(), StateHash: hex.EncodeToString(sum[:]), NodesByStatus: map[string]int{}}
	if o.cfg.Leader != nil {
		out.Leader = o.cfg.Leader()
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return fmt.Errorf("%w: listing nodes: %w", ErrInternal, err)
	}
	out.Nodes = len(nodes)
	for _, n := range nodes {
		out.NodesByStatus[n.Status]++
	}
	jobs, err := snap.Jobs(nil)
	if err != nil {
		return fmt.Errorf("%w: listing jobs: %w", ErrInternal, err)
	}
	out.Jobs = len(jobs)
	it, err := snap.Allocs(nil)
	if err != nil {
		return fmt.Errorf("%w: listing allocs: %w", ErrInternal, err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out.Allocs++
	}
	evals, err := snap.Evals(nil)
	if err != nil {
		return fmt.Errorf("%w: listing evals: %w", ErrInternal, err)
	}
	out.Evals = len(evals)
	for _, e := range evals {
		if e.Status == structs.EvalStatusPending {
			out.PendingEvals++
		}
	}
	*reply = out
	return nil
}
