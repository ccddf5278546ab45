package heartbeat

import (
	"cmp"
	"hash/maphash"
	"math"
	"slices"
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
// own lock, index and heap, so resets of different nodes rarely contend. One
// clock timer is armed for the earliest deadline of all shards; a Reset arms
// it only when it creates a deadline earlier than the armed one, and a
// deadline that moves later is noticed lazily when the timer fires.
type Tracker struct {
	clk  clock.Clock
	base time.Time // deadlines are nanoseconds since base
	// sysClock: clk is clock.System, so now can read the monotonic clock
	// alone (time.Since), half the cost of time.Now, which also reads the
	// wall clock; a Reset is a few hundred nanoseconds, so this shows.
	sysClock  bool
	onExpire  func([]string)
	batchSize int
	seed      maphash.Seed
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

// locate returns id's shard and tag (hash bits, never 0).
func (t *Tracker) locate(id string) (*shard, uint32) {
	h := maphash.String(t.seed, id)
	return &t.shards[h&t.shardMask], uint32(h>>32) | 1
}

// Reset sets nodeID's deadline to now+ttl, tracking it if it was not, and
// reports whether it was newly tracked. After Stop nothing expires.
func (t *Tracker) Reset(nodeID string, ttl time.Duration) (inserted bool) {
	due := t.now() + int64(ttl)
	s, tag := t.locate(nodeID)
	lowered := false
	s.mu.Lock()
	i, ok := s.lookup(tag, nodeID)
	switch {
	case ok:
		r := &s.recs[i]
		// The heap key is <= the old due, so a deadline that does not move
		// earlier needs no heap work at all.
		if due < r.due {
			if p := r.pos; due < s.heapKey[p] {
				s.heapKey[p] = due
				s.up(int(p))
				lowered = true
			}
		}
		r.due = due
	default:
		s.insert(tag, nodeID, due)
		inserted, lowered = true, true
	}
	s.mu.Unlock()
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
	s, tag := t.locate(nodeID)
	s.mu.Lock()
	i, ok := s.lookup(tag, nodeID)
	if ok {
		s.deleteAt(i)
	}
	s.mu.Unlock()
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
	s, tag := t.locate(nodeID)
	s.mu.Lock()
	i, ok := s.lookup(tag, nodeID)
	var due int64
	if ok {
		due = s.recs[i].due
	}
	s.mu.Unlock()
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
		t.n.Add(-int64(s.used))
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

type expiredEntry struct {
	due int64
	id  string
}

// fire collects every node whose deadline has passed, re-keys heap entries
// whose deadline moved later, re-arms the timer for the earliest remaining
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
	var expired []expiredEntry
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		removed := 0
		for len(s.heapKey) > 0 && s.heapKey[0] <= now {
			at := s.heapRef[0]
			r := s.recs[at]
			if r.due > now {
				s.heapKey[0] = r.due
				s.down(0)
				continue
			}
			expired = append(expired, expiredEntry{due: r.due, id: r.id})
			s.deleteAt(int(at))
			removed++
		}
		if len(s.heapKey) > 0 && s.heapKey[0] < next {
			next = s.heapKey[0]
		}
		s.mu.Unlock()
		t.n.Add(-int64(removed))
	}
	if next != math.MaxInt64 {
		t.arm(next)
	}
	if len(expired) == 0 || t.onExpire == nil {
		return
	}
	slices.SortFunc(expired, func(a, b expiredEntry) int {
		if c := cmp.Compare(a.due, b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	size := t.batchSize
	if size <= 0 {
		size = len(expired)
	}
	for start := 0; start < len(expired); start += size {
		end := min(start+size, len(expired))
		batch := make([]string, end-start)
		for i := range batch {
			batch[i] = expired[start+i].id
		}
		t.onExpire(batch)
	}
}
