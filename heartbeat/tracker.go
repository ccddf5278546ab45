package heartbeat

import (
	"hash/maphash"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rejoinhq/rejoin/clock"
)

// TrackerConfig configures a Tracker.
type TrackerConfig struct {
	// Clock drives deadlines; nil means clock.System.
	Clock clock.Clock
	// OnExpire receives expired node IDs, earliest deadline first (ties by
	// ID). It runs outside every tracker lock, in the timer's goroutine, one
	// firing at a time; it may call Reset, Remove, Len and Deadline. The
	// slice is the callback's to keep. Expired nodes are no longer tracked.
	OnExpire func(expired []string)
	// BatchSize caps the IDs per OnExpire call; 0 delivers everything that
	// expired at one firing in one call.
	BatchSize int
	// Shards is the number of lock shards (rounded up to a power of two);
	// 0 means 64, enough that 64 concurrent resetters rarely meet.
	Shards int
}

// Tracker tracks one deadline per node for very many nodes with one timer.
//
// Nodes are spread over shards by the hash of their ID; each shard has its
// own lock, tables and per-block deadline bounds, so resets of different
// nodes rarely contend. An ID in canonical lowercase UUID form (Nomad's node
// IDs) is kept as 16 bytes inside its record; any other ID as a string. One
// clock timer is armed for the earliest bound of all shards; a Reset arms it
// only when it lowers a shard's bound below the armed time, and a deadline
// that moves later is noticed lazily when the timer fires.
type Tracker struct {
	clk  clock.Clock
	base time.Time // deadlines are nanoseconds since base
	// sysClock: clk is clock.System, so now can read the monotonic clock
	// alone (time.Since), half the cost of time.Now, which also reads the
	// wall clock; a Reset is a few hundred nanoseconds, so this shows.
	sysClock  bool
	onExpire  func([]string)
	batchSize int
	seed      maphash.Seed // hashes string IDs
	useed     [3]uint64    // hashes UUID IDs (uuidHash)
	shards    []shard
	shardMask uint64
	n         atomic.Int64 // tracked nodes, summed over shards

	// armedAt is the deadline the timer is armed for (math.MaxInt64: not
	// armed). Read without a lock on the Reset path to skip arming;
	// written under armMu.
	armedAt atomic.Int64
	armMu   sync.Mutex // protects timer and stopped, and orders writes to armedAt
	timer   clock.Timer
	stopped bool

	// fireMu serialises firings so batches are delivered in deadline order.
	// Only fire takes it; it is held across OnExpire, which therefore must
	// not wait for another firing (Reset/Remove/Len/Deadline never do).
	fireMu sync.Mutex
}

// NewTracker returns an empty tracker.
func NewTracker(cfg TrackerConfig) *Tracker {
	clk := cfg.Clock
	if clk == nil {
		clk = clock.System{}
	}
	n := cfg.Shards
	if n <= 0 {
		n = 64
	}
	p := 1
	for p < n {
		p *= 2
	}
	t := &Tracker{
		clk:       clk,
		base:      clk.Now(),
		onExpire:  cfg.OnExpire,
		batchSize: cfg.BatchSize,
		seed:      maphash.MakeSeed(),
		shards:    make([]shard, p),
		shardMask: uint64(p - 1),
	}
	for i := range t.useed {
		t.useed[i] = rand.Uint64() | 1
	}
	for i := range t.shards {
		t.shards[i].seed = &t.useed
		t.shards[i].min = math.MaxInt64
	}
	switch clk.(type) {
	case clock.System, *clock.System:
		t.sysClock = true
	}
	t.armedAt.Store(math.MaxInt64)
	return t
}

// now is the time since base in nanoseconds. On the system clock both
// forms are the same monotonic difference (base carries a monotonic
// reading).
func (t *Tracker) now() int64 {
	if t.sysClock {
		return int64(time.Since(t.base))
	}
	return int64(t.clk.Now().Sub(t.base))
}

// locate returns the shard and tag (hash bits, never 0) of an ID that is
// not a UUID.
func (t *Tracker) locate(id string) (*shard, uint32) {
	h := maphash.String(t.seed, id)
	return &t.shards[h&t.shardMask], uint32(h>>32) | 1
}

// key is a node ID as the tracker indexes it: a UUID's 16 bytes (uuid) or
// the string's shard and tag.
type key struct {
	s      *shard
	uuid   bool
	h      uint64 // uuid: the key's hash
	k0, k1 uint64 // uuid: the key
	tag    uint32 // string: hash bits
}

func (t *Tracker) keyOf(id string) key {
	if k0, k1, ok := uuidKey(id); ok && k0|k1 != 0 {
		h := uuidHash(k0, k1, &t.useed)
		return key{s: &t.shards[h&t.shardMask], uuid: true, h: h, k0: k0, k1: k1}
	}
	s, tag := t.locate(id)
	return key{s: s, tag: tag}
}

// remove stops tracking id and reports whether it was tracked. The caller
// holds k.s.mu.
func (k *key) remove(id string) bool {
	if k.uuid {
		i, ok := k.s.ulookup(k.h, k.k0, k.k1)
		if ok {
			k.s.udeleteAt(i)
		}
		return ok
	}
	i, ok := k.s.lookup(k.tag, id)
	if ok {
		k.s.deleteAt(i)
	}
	return ok
}

// due returns id's deadline and whether it is tracked. The caller holds
// k.s.mu.
func (k *key) due(id string) (int64, bool) {
	if k.uuid {
		i, ok := k.s.ulookup(k.h, k.k0, k.k1)
		if !ok {
			return 0, false
		}
		return k.s.uk[i].due, true
	}
	i, ok := k.s.lookup(k.tag, id)
	if !ok {
		return 0, false
	}
	return k.s.recs[i].due, true
}

// Reset sets nodeID's deadline to now+ttl, tracking it if it was not, and
// reports whether it was newly tracked. After Stop nothing expires.
func (t *Tracker) Reset(nodeID string, ttl time.Duration) (inserted bool) {
	// The system clock is read under the shard lock, after the record's
	// load is issued, so the read overlaps that cache miss (about a tenth
	// of a Reset at a million nodes). Any other clock is read before
	// locking: it may take locks of its own.
	var due int64
	if !t.sysClock {
		due = t.now() + int64(ttl)
	}
	// lowered: the shard's deadline bound moved earlier, so the timer may
	// have to fire earlier. A deadline that moves later (a heartbeat from a
	// healthy node) only stores due in its record.
	lowered := false
	if k0, k1, ok := uuidKey(nodeID); ok && k0|k1 != 0 {
		h := uuidHash(k0, k1, &t.useed)
		s := &t.shards[h&t.shardMask]
		s.mu.Lock()
		i, found := s.ulookup(h, k0, k1)
		if t.sysClock {
			due = t.now() + int64(ttl)
		}
		if found {
			if r := &s.uk[i]; due >= r.due {
				r.due = due
			} else {
				r.due = due
				lowered = s.bound(s.umin, i, due)
			}
		} else {
			lowered = s.uinsert(h, k0, k1, due)
			inserted = true
		}
		s.mu.Unlock()
	} else {
		s, tag := t.locate(nodeID)
		s.mu.Lock()
		i, found := s.lookup(tag, nodeID)
		if t.sysClock {
			due = t.now() + int64(ttl)
		}
		if found {
			s.recs[i].due = due
			lowered = s.bound(s.rmin, i, due)
		} else {
			lowered = s.insert(tag, nodeID, due)
			inserted = true
		}
		s.mu.Unlock()
	}
	if inserted {
		t.n.Add(1)
	}
	if lowered && due < t.armedAt.Load() {
		t.arm(due)
	}
	return inserted
}

// Remove stops tracking nodeID and reports whether it was tracked. The
// timer is left armed: an early firing finds nothing and re-arms.
func (t *Tracker) Remove(nodeID string) bool {
	k := t.keyOf(nodeID)
	k.s.mu.Lock()
	ok := k.remove(nodeID)
	k.s.mu.Unlock()
	if ok {
		t.n.Add(-1)
	}
	return ok
}

// Len returns the number of tracked nodes.
func (t *Tracker) Len() int { return int(t.n.Load()) }

// Contains reports whether nodeID is tracked.
func (t *Tracker) Contains(nodeID string) bool {
	_, ok := t.Deadline(nodeID)
	return ok
}

// Deadline returns nodeID's deadline and whether it is tracked.
func (t *Tracker) Deadline(nodeID string) (time.Time, bool) {
	k := t.keyOf(nodeID)
	k.s.mu.Lock()
	due, ok := k.due(nodeID)
	k.s.mu.Unlock()
	if !ok {
		return time.Time{}, false
	}
	return t.base.Add(time.Duration(due)), true
}

// Clear stops tracking every node. No node tracked before Clear expires
// after it (an in-flight firing may still deliver what it already took).
func (t *Tracker) Clear() {
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		t.n.Add(-int64(s.size()))
		s.reset()
		s.mu.Unlock()
	}
}

// Stop clears the tracker and disarms its timer for good.
func (t *Tracker) Stop() {
	t.armMu.Lock()
	t.stopped = true
	if t.timer != nil {
		t.timer.Stop()
	}
	t.armedAt.Store(math.MinInt64) // Resets never try to arm again
	t.armMu.Unlock()
	t.Clear()
}

// arm makes the timer fire no later than due.
func (t *Tracker) arm(due int64) {
	t.armMu.Lock()
	defer t.armMu.Unlock()
	if t.stopped || due >= t.armedAt.Load() {
		return
	}
	t.armedAt.Store(due)
	d := time.Duration(due - t.now())
	if t.timer == nil {
		t.timer = t.clk.AfterFunc(d, t.fire)
		return
	}
	t.timer.Reset(d)
}

// fire collects every node whose deadline has passed, recomputes the bounds
// of the blocks it scanned, re-arms the timer for the earliest remaining
// deadline and delivers the expired IDs.
func (t *Tracker) fire() {
	t.fireMu.Lock()
	defer t.fireMu.Unlock()
	// Not armed from here on: a Reset that inserts an early deadline while
	// we scan arms the timer itself, so no deadline is missed.
	t.armMu.Lock()
	if t.stopped {
		t.armMu.Unlock()
		return
	}
	t.armedAt.Store(math.MaxInt64)
	t.armMu.Unlock()

	now := t.now()
	next := int64(math.MaxInt64)
	var x expired
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n := x.len()
		s.expire(now, &x)
		next = min(next, s.min)
		s.mu.Unlock()
		t.n.Add(-int64(x.len() - n))
	}
	if next != math.MaxInt64 {
		t.arm(next)
	}
	if x.len() == 0 || t.onExpire == nil {
		return
	}
	x.sort()
	size := t.batchSize
	if size <= 0 {
		size = x.len()
	}
	for x.len() > 0 {
		t.onExpire(x.next(size))
	}
}
