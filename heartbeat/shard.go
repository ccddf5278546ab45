package heartbeat

import (
	"math"
	"sync"
)

// shard is one lock's worth of tracked nodes: two open-addressing tables of
// node records, one for UUID IDs stored inline as 16 bytes and one for any
// other ID as a string, each with a lower bound of the deadlines in every
// block of blockSize slots.
//
// There is no per-node deadline structure. A Reset that moves a deadline
// later only stores it in the record (one 24-byte record, found after
// hashing); one that moves it earlier also lowers its block's bound. A
// firing scans only the blocks whose bound has passed, expires what is due
// and recomputes their bounds exactly. Healthy nodes keep moving their
// deadlines a heartbeat interval ahead, so a block is scanned about once per
// grace period, which costs far less than keeping a heap ordered.
//
// Deadlines are int64 nanoseconds since the tracker's base time.
type shard struct {
	mu sync.Mutex // protects every field below except seed

	seed *[3]uint64 // the tracker's UUID hash seeds (read-only)

	// uk is the UUID table: canonical lowercase UUID IDs as 16 bytes (see
	// uuidKey); the all-zero key marks an empty slot (the nil UUID goes to
	// the string table). Linear probing over any size (the home slot is
	// hash*len>>32, so growth can be 1.25x and memory stays dense),
	// backward-shift deletion, no tombstones. The record holds no pointer,
	// so the garbage collector never scans the table.
	uk    []urec
	umin  []int64 // umin[b] <= due of every record in uk block b
	uused int

	// recs is the string table, for every other ID: same scheme, the record
	// carries its hash bits (tag, never 0 in a used record).
	recs []record
	rmin []int64 // rmin[b] <= due of every record in recs block b
	used int

	// min is <= every block bound of both tables (MaxInt64: nothing
	// tracked); the tracker's timer is armed no later than it.
	min int64

	_ [64]byte // keeps neighbouring shards' locks off this cache line
}

// urec is one node with a UUID ID: 24 bytes.
type urec struct {
	k0, k1 uint64 // the ID (see uuidKey); both 0: empty slot
	due    int64  // real deadline
}

// record is one node with any other ID: 32 bytes.
type record struct {
	id  string
	due int64  // real deadline
	tag uint32 // hash bits, never 0 in a used record
}

const (
	minTableSize = 16
	maxLoadNum   = 7 // grow when used exceeds 7/8 of the table
	maxLoadDen   = 8
	blockShift   = 6 // 64 slots share one deadline bound
)

func slotOf(h32 uint32, n int) int {
	return int(uint64(h32) * uint64(n) >> 32)
}

// blocks returns a bound array for a table of n slots, every bound unset.
func blocks(n int) []int64 {
	b := make([]int64, (n+1<<blockShift-1)>>blockShift)
	for i := range b {
		b[i] = math.MaxInt64
	}
	return b
}

// bound makes mins' bound for slot i at most due, and the shard's too. It
// reports whether the shard's bound moved, that is whether the timer may
// have to fire earlier.
func (s *shard) bound(mins []int64, i int, due int64) bool {
	b := &mins[i>>blockShift]
	if due >= *b {
		return false
	}
	*b = due
	if due >= s.min {
		return false
	}
	s.min = due
	return true
}

// uhome is the home slot of key (k0, k1) in the UUID table.
func (s *shard) uhome(k0, k1 uint64) int {
	return slotOf(uint32(uuidHash(k0, k1, s.seed)>>32), len(s.uk))
}

// ulookup returns the slot of key (k0, k1), whose hash is h, and true, or
// the slot where it would be inserted and false.
func (s *shard) ulookup(h, k0, k1 uint64) (int, bool) {
	n := len(s.uk)
	if n == 0 {
		return 0, false
	}
	i := slotOf(uint32(h>>32), n)
	for {
		r := &s.uk[i]
		if r.k0 == k0 && r.k1 == k1 {
			return i, true
		}
		if r.k0|r.k1 == 0 {
			return i, false
		}
		if i++; i == n {
			i = 0
		}
	}
}

// uinsert adds key (k0, k1) with deadline due; the caller has checked it is
// absent. It reports whether the shard's bound moved.
func (s *shard) uinsert(h, k0, k1 uint64, due int64) bool {
	if (s.uused+1)*maxLoadDen > len(s.uk)*maxLoadNum {
		s.ugrow()
	}
	i, _ := s.ulookup(h, k0, k1)
	s.uk[i] = urec{k0: k0, k1: k1, due: due}
	s.uused++
	return s.bound(s.umin, i, due)
}

// ugrow enlarges the UUID table by a quarter and reinserts every record.
func (s *shard) ugrow() {
	n := max(len(s.uk)+len(s.uk)/4, minTableSize)
	old := s.uk
	s.uk, s.umin = make([]urec, n), blocks(n)
	for _, r := range old {
		if r.k0|r.k1 == 0 {
			continue
		}
		i := s.uhome(r.k0, r.k1)
		for s.uk[i].k0|s.uk[i].k1 != 0 {
			if i++; i == n {
				i = 0
			}
		}
		s.uk[i] = r
		s.bound(s.umin, i, r.due)
	}
}

// udeleteAt removes the UUID record at slot i.
func (s *shard) udeleteAt(i int) {
	n := len(s.uk)
	j := i
	for {
		if j++; j == n {
			j = 0
		}
		r := s.uk[j]
		if r.k0|r.k1 == 0 {
			break
		}
		if fillsHole(s.uhome(r.k0, r.k1), i, j) {
			s.uk[i] = r
			s.bound(s.umin, i, r.due)
			i = j
		}
	}
	s.uk[i] = urec{}
	s.uused--
}

// lookup returns the position of id's record in the string table and true,
// or the position where it would be inserted and false.
func (s *shard) lookup(tag uint32, id string) (int, bool) {
	n := len(s.recs)
	if n == 0 {
		return 0, false
	}
	i := slotOf(tag, n)
	for {
		r := &s.recs[i]
		if r.tag == 0 {
			return i, false
		}
		if r.tag == tag && r.id == id {
			return i, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

// insert adds id with deadline due; the caller has checked it is absent. It
// reports whether the shard's bound moved.
func (s *shard) insert(tag uint32, id string, due int64) bool {
	if (s.used+1)*maxLoadDen > len(s.recs)*maxLoadNum {
		s.grow()
	}
	i, _ := s.lookup(tag, id)
	s.recs[i] = record{id: id, due: due, tag: tag}
	s.used++
	return s.bound(s.rmin, i, due)
}

// grow enlarges the string table by a quarter and reinserts every record.
func (s *shard) grow() {
	n := max(len(s.recs)+len(s.recs)/4, minTableSize)
	old := s.recs
	s.recs, s.rmin = make([]record, n), blocks(n)
	for _, r := range old {
		if r.tag == 0 {
			continue
		}
		i := slotOf(r.tag, n)
		for s.recs[i].tag != 0 {
			if i++; i == n {
				i = 0
			}
		}
		s.recs[i] = r
		s.bound(s.rmin, i, r.due)
	}
}

// deleteAt removes the string record at position i.
func (s *shard) deleteAt(i int) {
	n := len(s.recs)
	j := i
	for {
		if j++; j == n {
			j = 0
		}
		r := s.recs[j]
		if r.tag == 0 {
			break
		}
		if fillsHole(slotOf(r.tag, n), i, j) {
			s.recs[i] = r
			s.bound(s.rmin, i, r.due)
			i = j
		}
	}
	s.recs[i] = record{} // lets the ID string be collected
	s.used--
}

// expire removes every record due at or before now, adds them to x and
// makes the block bounds it passed exact. A block whose bound has not
// passed is not read.
func (s *shard) expire(now int64, x *expired) {
	if s.min > now {
		return
	}
	// Collect first, delete after: a deletion shifts records backwards,
	// possibly into a block already scanned.
	ufirst, sfirst := len(x.u), len(x.s)
	for b, m := range s.umin {
		if m > now {
			continue
		}
		for _, r := range s.uk[b<<blockShift : min((b+1)<<blockShift, len(s.uk))] {
			if r.k0|r.k1 != 0 && r.due <= now {
				x.u = append(x.u, r)
			}
		}
	}
	for b, m := range s.rmin {
		if m > now {
			continue
		}
		for _, r := range s.recs[b<<blockShift : min((b+1)<<blockShift, len(s.recs))] {
			if r.tag != 0 && r.due <= now {
				x.s = append(x.s, r)
			}
		}
	}
	for _, r := range x.u[ufirst:] {
		i, _ := s.ulookup(uuidHash(r.k0, r.k1, s.seed), r.k0, r.k1)
		s.udeleteAt(i)
	}
	for _, r := range x.s[sfirst:] {
		i, _ := s.lookup(r.tag, r.id)
		s.deleteAt(i)
	}
	// Every record left is due after now, and every block it may have
	// moved into has a bound at most its due, so recomputing the passed
	// bounds from their records leaves every bound valid and > now.
	s.min = math.MaxInt64
	for b, m := range s.umin {
		if m <= now {
			m = math.MaxInt64
			for _, r := range s.uk[b<<blockShift : min((b+1)<<blockShift, len(s.uk))] {
				if r.k0|r.k1 != 0 {
					m = min(m, r.due)
				}
			}
			s.umin[b] = m
		}
		s.min = min(s.min, m)
	}
	for b, m := range s.rmin {
		if m <= now {
			m = math.MaxInt64
			for _, r := range s.recs[b<<blockShift : min((b+1)<<blockShift, len(s.recs))] {
				if r.tag != 0 {
					m = min(m, r.due)
				}
			}
			s.rmin[b] = m
		}
		s.min = min(s.min, m)
	}
}

// size is the number of records in the shard.
func (s *shard) size() int { return s.uused + s.used }

// reset empties the shard and releases its memory.
func (s *shard) reset() {
	s.uk, s.umin, s.uused = nil, nil, 0
	s.recs, s.rmin, s.used = nil, nil, 0
	s.min = math.MaxInt64
}

// fillsHole reports whether, in backward-shift deletion, the record at
// slot j whose home slot is h moves into the hole at slot i: it does unless
// its home lies cyclically in (i, j].
func fillsHole(h, i, j int) bool {
	return (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j)
}
