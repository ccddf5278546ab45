package rejoin

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/heartbeat"
)

// heartbeats wraps the Heartbeater for the RPC endpoints and remembers,
// per node, when the last heartbeat was accepted and the TTL the client
// was told: what an operator asks first about a node. The memory is
// sharded so heartbeats of different nodes rarely share a mutex.
type heartbeats struct {
	h      *heartbeat.Heartbeater
	clock  clock.Clock
	seed   maphash.Seed
	shards [64]hbShard
}

type hbShard struct {
	mu   sync.Mutex // protects last
	last map[string]hbSeen
}

type hbSeen struct {
	at  time.Time
	ttl time.Duration
}

func newHeartbeats(h *heartbeat.Heartbeater, c clock.Clock) *heartbeats {
	hb := &heartbeats{h: h, clock: c, seed: maphash.MakeSeed()}
	for i := range hb.shards {
		hb.shards[i].last = map[string]hbSeen{}
	}
	return hb
}

func (hb *heartbeats) shard(id string) *hbShard {
	return &hb.shards[maphash.String(hb.seed, id)%uint64(len(hb.shards))]
}

// ResetHeartbeatTimer implements rpc.HeartbeatTimers.
func (hb *heartbeats) ResetHeartbeatTimer(nodeID string) (time.Duration, error) {
	ttl, err := hb.h.ResetHeartbeatTimer(nodeID)
	if err != nil {
		return ttl, err
	}
	now := hb.clock.Now()
	s := hb.shard(nodeID)
	s.mu.Lock()
	s.last[nodeID] = hbSeen{at: now, ttl: ttl}
	s.mu.Unlock()
	return ttl, nil
}

// ClearHeartbeatTimer implements rpc.HeartbeatTimers.
func (hb *heartbeats) ClearHeartbeatTimer(nodeID string) {
	hb.h.ClearHeartbeatTimer(nodeID)
}

// HeartbeatInfo implements rpc.HeartbeatInfo.
func (hb *heartbeats) HeartbeatInfo(nodeID string) (time.Time, time.Duration, time.Time) {
	s := hb.shard(nodeID)
	s.mu.Lock()
	seen := s.last[nodeID]
	s.mu.Unlock()
	deadline, _ := hb.h.Tracker().Deadline(nodeID)
	return seen.at, seen.ttl, deadline
}

// forget drops what is remembered (leadership lost: it is stale).
func (hb *heartbeats) forget() {
	for i := range hb.shards {
		s := &hb.shards[i]
		s.mu.Lock()
		s.last = map[string]hbSeen{}
		s.mu.Unlock()
	}
}
