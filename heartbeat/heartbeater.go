package heartbeat

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	memdb "github.com/hashicorp/go-memdb"
	"github.com/rejoinhq/rejoin/structs"
)

// StateReader is what the Heartbeater reads; *state.Store and
// *state.Snapshot satisfy it. Not found is (nil, nil).
type StateReader interface {
	NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error)
	AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error)
	JobByID(ws memdb.WatchSet, namespace, jobID string) (*structs.Job, error)
}

// Writer applies commands; *state.Store satisfies it.
type Writer interface {
	ApplyCommand(t structs.MessageType, req any) (uint64, any, error)
}

// Heartbeater is the server side of client heartbeats: it tracks every
// node's TTL while this server is leader and, when one expires, marks the
// node disconnected or down (with evaluations for its jobs) in one command,
// unless the mass-disconnect breaker holds the change.
type Heartbeater struct {
	cfg     Config
	log     hclog.Logger
	reader  StateReader
	writer  Writer
	tracker *Tracker

	// leader is gen<<1 | 1 while leader, gen<<1 otherwise; gen grows on
	// every leadership change, so an expiry that started under one
	// leadership never acts under another.
	leader atomic.Uint64
	// leaderMu serialises leadership changes, and is held for reading
	// across each expiry's check-and-write so that no write lands after
	// SetLeader(false) returns.
	leaderMu sync.RWMutex

	randMu     sync.Mutex // protects cfg.Rand when it was injected
	lockedRand bool

	// mu protects nodeDC, dcIndex and dcs (tracked counts and breakers).
	mu      sync.Mutex
	nodeDC  map[string]int // tracked node -> datacenter index
	dcIndex map[string]int
	dcs     []*dcState
	// openHolds counts open breakers so heartbeats skip mu when none is.
	openHolds atomic.Int32
}

// New returns a Heartbeater that is not leader.
func New(cfg Config, reader StateReader, writer Writer) (*Heartbeater, error) {
	if reader == nil || writer == nil {
		return nil, fmt.Errorf("heartbeat: reader and writer are required: %w", structs.ErrInvalidRequest)
	}
	lockedRand := cfg.Rand != nil
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.Rand == nil {
		cfg.Rand = globalRand{}
	}
	h := &Heartbeater{
		cfg:        cfg,
		log:        cfg.Logger.Named("heartbeat"),
		reader:     reader,
		writer:     writer,
		lockedRand: lockedRand,
		nodeDC:     map[string]int{},
		dcIndex:    map[string]int{},
	}
	h.tracker = NewTracker(TrackerConfig{Clock: cfg.Clock, OnExpire: h.onExpire})
	return h, nil
}

// Tracker exposes the deadline tracker (read-only use: Len, Deadline).
func (h *Heartbeater) Tracker() *Tracker { return h.tracker }

// IsLeader reports whether heartbeats are being tracked.
func (h *Heartbeater) IsLeader() bool { return h.leader.Load()&1 == 1 }

func (h *Heartbeater) float64() float64 {
	if !h.lockedRand {
		return h.cfg.Rand.Float64()
	}
	h.randMu.Lock()
	defer h.randMu.Unlock()
	return h.cfg.Rand.Float64()
}

// newID returns a UUID-shaped ID from the random source.
func (h *Heartbeater) newID() string {
	var a, b uint64
	if h.lockedRand {
		h.randMu.Lock()
		a, b = h.cfg.Rand.Uint64(), h.cfg.Rand.Uint64()
		h.randMu.Unlock()
	} else {
		a, b = h.cfg.Rand.Uint64(), h.cfg.Rand.Uint64()
	}
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// baseTTL is the rate-scaled TTL for the current number of tracked nodes.
func (h *Heartbeater) baseTTL() time.Duration {
	return RateScaledTTL(h.tracker.Len(), h.cfg.MinHeartbeatTTL, h.cfg.MaxHeartbeatsPerSecond)
}

// clientTTL is a fresh staggered TTL to tell a client.
func (h *Heartbeater) clientTTL() time.Duration { return Staggered(h.baseTTL(), h.float64()) }

// ResetHeartbeatTimer records a heartbeat from nodeID and returns the TTL to
// tell the client; the server waits ttl + HeartbeatGrace. It fails with
// ErrNotLeader when this server is not the leader.
func (h *Heartbeater) ResetHeartbeatTimer(nodeID string) (time.Duration, error) {
	if !h.IsLeader() {
		return 0, ErrNotLeader
	}
	ttl := h.clientTTL()
	if h.tracker.Reset(nodeID, ttl+h.cfg.HeartbeatGrace) {
		h.noteTracked(nodeID, "", false)
	}
	if h.openHolds.Load() > 0 {
		h.heartbeatDuringHold(nodeID)
	}
	h.cfg.Metrics.IncrCounter(MetricReset, 1)
	return ttl, nil
}

// ClearHeartbeatTimer stops tracking nodeID (deregistered, or down by
// decision of the server), including a hold on it.
func (h *Heartbeater) ClearHeartbeatTimer(nodeID string) {
	h.tracker.Remove(nodeID)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.untrackLocked(nodeID)
	for _, dc := range h.dcs {
		delete(dc.held, nodeID)
	}
}

// Initialize makes this server the leader: tracking restarts from nodes,
// every node that is not down getting FailoverHeartbeatTTL to heartbeat.
func (h *Heartbeater) Initialize(nodes []*structs.Node) {
	h.leaderMu.Lock()
	defer h.leaderMu.Unlock()
	h.resetLocked()
	h.leader.Store((h.leader.Load()>>1+1)<<1 | 1)
	for _, n := range nodes {
		if n == nil || n.Status == structs.NodeStatusDown {
			continue
		}
		if h.tracker.Reset(n.ID, h.cfg.FailoverHeartbeatTTL) {
			h.noteTracked(n.ID, n.Datacenter, true)
		}
	}
	h.log.Info("tracking heartbeats as leader", "nodes", h.tracker.Len(), "ttl", h.cfg.FailoverHeartbeatTTL)
}

// SetLeader(true) is Initialize with no nodes; SetLeader(false) is Clear.
func (h *Heartbeater) SetLeader(leader bool) {
	if leader {
		h.Initialize(nil)
		return
	}
	h.Clear()
}

// Clear gives up leadership: every timer and hold is dropped, and no expiry
// acts after Clear returns, even one already being processed.
func (h *Heartbeater) Clear() {
	h.leaderMu.Lock()
	defer h.leaderMu.Unlock()
	h.leader.Store((h.leader.Load()>>1 + 1) << 1)
	h.resetLocked()
}

// Stop clears and releases the tracker's timer for good.
func (h *Heartbeater) Stop() {
	h.Clear()
	h.tracker.Stop()
}

// resetLocked drops all tracking state; leaderMu is held.
func (h *Heartbeater) resetLocked() {
	h.tracker.Clear()
	h.mu.Lock()
	for _, dc := range h.dcs {
		if dc.holdTimer != nil {
			dc.holdTimer.Stop()
		}
	}
	h.nodeDC = map[string]int{}
	h.dcIndex = map[string]int{}
	h.dcs = nil
	h.openHolds.Store(0)
	h.mu.Unlock()
	h.cfg.Metrics.SetGauge(MetricBreakerOpen, 0)
}

// noteTracked records a newly tracked node's datacenter; when it is not
// known it is read from the store.
func (h *Heartbeater) noteTracked(nodeID, dc string, known bool) {
	if !known {
		if n, err := h.reader.NodeByID(nil, nodeID); err == nil && n != nil {
			dc = n.Datacenter
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.nodeDC[nodeID]; ok {
		return
	}
	i := h.dcLocked(dc)
	h.nodeDC[nodeID] = i
	h.dcs[i].tracked++
}

// untrackLocked forgets a node that left the tracker (unless it was tracked
// again meanwhile) and returns its datacenter index, or -1.
func (h *Heartbeater) untrackLocked(nodeID string) int {
	i, ok := h.nodeDC[nodeID]
	if !ok {
		return -1
	}
	if h.tracker.Contains(nodeID) {
		return i
	}
	delete(h.nodeDC, nodeID)
	h.dcs[i].tracked--
	return i
}

func (h *Heartbeater) dcLocked(name string) int {
	if i, ok := h.dcIndex[name]; ok {
		return i
	}
	i := len(h.dcs)
	h.dcIndex[name] = i
	h.dcs = append(h.dcs, &dcState{name: name, held: map[string]struct{}{}})
	return i
}

// retrack tracks nodeID again after d, if the leadership gen still holds.
// The caller holds leaderMu for reading.
func (h *Heartbeater) retrack(nodeID, dc string, d time.Duration, gen uint64) {
	if h.leader.Load() != gen {
		return
	}
	if h.tracker.Reset(nodeID, d) {
		h.noteTracked(nodeID, dc, true)
	}
}

type expiredNode struct {
	id   string
	node *structs.Node
}

// onExpire is the tracker's callback: one batch of nodes whose TTL passed.
func (h *Heartbeater) onExpire(ids []string) {
	gen := h.leader.Load()
	if gen&1 == 0 {
		return
	}
	now := h.cfg.Clock.Now()
	var fresh, recheck []expiredNode
	for _, id := range ids {
		h.mu.Lock()
		gone := !h.tracker.Contains(id)
		if gone {
			h.untrackLocked(id)
		}
		h.mu.Unlock()
		if !gone {
			continue // a heartbeat arrived after the expiry: it is alive
		}
		node, err := h.reader.NodeByID(nil, id)
		switch {
		case err != nil:
			h.log.Error("reading expired node", "node_id", id, "error", err)
			continue
		case node == nil:
			h.log.Debug("expired node no longer exists", "node_id", id)
			continue
		case node.Status == structs.NodeStatusDown:
			continue
		case node.Status == structs.NodeStatusDisconnected:
			recheck = append(recheck, expiredNode{id, node})
		default:
			fresh = append(fresh, expiredNode{id, node})
		}
	}
	h.cfg.Metrics.IncrCounter(MetricExpired, len(fresh)+len(recheck))
	process := h.breakerFilter(fresh, now)
	for _, e := range append(process, recheck...) {
		h.invalidate(e.id, gen, now)
	}
}

// invalidate decides and writes the new status of an expired node.
func (h *Heartbeater) invalidate(nodeID string, gen uint64, now time.Time) {
	node, err := h.reader.NodeByID(nil, nodeID)
	if err != nil || node == nil {
		if err != nil {
			h.log.Error("reading expired node", "node_id", nodeID, "error", err)
		}
		return
	}
	allocs, err := h.reader.AllocsByNode(nil, nodeID)
	if err != nil {
		h.log.Error("reading allocs of expired node", "node_id", nodeID, "error", err)
		return
	}
	jobs := map[structs.NamespacedID]*structs.Job{}
	lookup := func(ns, id string) *structs.Job {
		k := structs.NamespacedID{Namespace: ns, ID: id}
		if j, ok := jobs[k]; ok {
			return j
		}
		j, err := h.reader.JobByID(nil, ns, id)
		if err != nil {
			h.log.Error("reading job", "namespace", ns, "job_id", id, "error", err)
		}
		jobs[k] = j
		return j
	}
	status, until := decideExpired(node, allocs, lookup, now)
	if status == "" {
		return
	}
	// A disconnected node is checked again when its earliest waiting alloc
	// would expire, and no later than one TTL.
	recheckIn := h.baseTTL() + h.cfg.HeartbeatGrace
	if d := until.Sub(now); status == structs.NodeStatusDisconnected && d < recheckIn {
		recheckIn = d
	}

	h.leaderMu.RLock()
	defer h.leaderMu.RUnlock()
	if h.leader.Load() != gen {
		return
	}
	if status == node.Status {
		h.retrack(nodeID, node.Datacenter, recheckIn, gen)
		return
	}
	req := &structs.NodeUpdateStatusRequest{
		NodeID:            nodeID,
		Status:            status,
		StatusDescription: "node heartbeat missed",
		UpdatedAt:         now.UnixNano(),
		Evals:             nodeEvals(nodeID, allocs, lookup, now, h.newID),
	}
	if _, _, err := h.writer.ApplyCommand(structs.NodeUpdateStatusRequestType, req); err != nil {
		if errors.Is(err, structs.ErrUnknownNode) {
			h.log.Debug("expired node deleted meanwhile", "node_id", nodeID)
			return
		}
		h.log.Error("marking expired node", "node_id", nodeID, "status", status, "error", err)
		h.retrack(nodeID, node.Datacenter, h.cfg.HeartbeatGrace, gen) // try again soon
		return
	}
	h.log.Info("node heartbeat expired", "node_id", nodeID, "status", status, "evals", len(req.Evals))
	if status == structs.NodeStatusDisconnected {
		h.retrack(nodeID, node.Datacenter, recheckIn, gen)
	}
}
