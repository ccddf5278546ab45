package heartbeat

import "sync"

// shard is one lock's worth of tracked nodes: an open-addressing table of
// node records and a 4-ary min-heap of record positions by deadline. There is
// no per-node heap object, so the garbage collector has almost nothing to
// scan, and a Reset touches one record (one cache line) after hashing.
//
// Deadlines are int64 nanoseconds since the tracker's base time. A heap key
// is a lower bound of its record's real deadline (due): a Reset that moves a
// deadline later only stores due; the heap entry is re-keyed when it reaches
// the root. A Reset that moves a deadline earlier lowers the key if needed.
type shard struct {
	mu sync.Mutex // protects every field below

	// recs is the table: linear probing over any size (the home bucket is
	// tag*len>>32, so growth can be 1.25x and memory stays dense),
	// backward-shift deletion, no tombstones. A record with tag 0 is empty.
	recs []record
	used int

	// The heap, split in two arrays to avoid padding: heapKey[i] is the key
	// of the record at recs[heapRef[i]].
	heapKey []int64
	heapRef []uint32

	_ [64]byte // keeps neighbouring shards' locks off this cache line
}

// record is one tracked node: 32 bytes, so two share a cache line.
type record struct {
	id  string
	due int64  // real deadline
	pos int32  // heap position
	tag uint32 // hash bits, never 0 in a used record
}

const (
	minTableSize = 16
	maxLoadNum   = 4 // grow when used exceeds 4/5 of the table
	maxLoadDen   = 5
)

func (s *shard) home(tag uint32) int {
	return int(uint64(tag) * uint64(len(s.recs)) >> 32)
}

// lookup returns the position of id's record and true, or the position where
// it would be inserted and false.
func (s *shard) lookup(tag uint32, id string) (int, bool) {
	n := len(s.recs)
	if n == 0 {
		return 0, false
	}
	i := s.home(tag)
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

// insert adds id with deadline due; the caller has checked it is absent.
func (s *shard) insert(tag uint32, id string, due int64) {
	if (s.used+1)*maxLoadDen > len(s.recs)*maxLoadNum {
		s.grow()
	}
	i, _ := s.lookup(tag, id)
	s.recs[i] = record{id: id, due: due, pos: int32(len(s.heapKey)), tag: tag}
	s.used++
	s.heapKey = append(s.heapKey, due)
	s.heapRef = append(s.heapRef, uint32(i))
	s.up(len(s.heapKey) - 1)
}

// grow enlarges the table by a quarter and reinserts every record.
func (s *shard) grow() {
	n := max(len(s.recs)+len(s.recs)/4, minTableSize)
	old := s.recs
	s.recs = make([]record, n)
	for _, r := range old {
		if r.tag == 0 {
			continue
		}
		i := s.home(r.tag)
		for s.recs[i].tag != 0 {
			if i++; i == n {
				i = 0
			}
		}
		s.recs[i] = r
		s.heapRef[r.pos] = uint32(i)
	}
}

// deleteAt removes the record at position i and its heap entry.
func (s *shard) deleteAt(i int) {
	s.removeHeapAt(int(s.recs[i].pos))
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
		// Move r into the hole unless its home lies cyclically in (i, j].
		h := s.home(r.tag)
		if (i <= j && (h <= i || h > j)) || (i > j && h <= i && h > j) {
			s.recs[i] = r
			s.heapRef[r.pos] = uint32(i)
			i = j
		}
	}
	s.recs[i] = record{} // lets the ID string be collected
	s.used--
}

func (s *shard) swapIn(i int, key int64, ref uint32) {
	s.heapKey[i], s.heapRef[i] = key, ref
	s.recs[ref].pos = int32(i)
}

// up restores heap order from position i towards the root.
func (s *shard) up(i int) {
	key, ref := s.heapKey[i], s.heapRef[i]
	for i > 0 {
		p := (i - 1) / 4
		if s.heapKey[p] <= key {
			break
		}
		s.swapIn(i, s.heapKey[p], s.heapRef[p])
		i = p
	}
	s.swapIn(i, key, ref)
}

// down restores heap order from position i towards the leaves.
func (s *shard) down(i int) {
	n := len(s.heapKey)
	key, ref := s.heapKey[i], s.heapRef[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		for k, end := c+1, min(c+4, n); k < end; k++ {
			if s.heapKey[k] < s.heapKey[m] {
				m = k
			}
		}
		if s.heapKey[m] >= key {
			break
		}
		s.swapIn(i, s.heapKey[m], s.heapRef[m])
		i = m
	}
	s.swapIn(i, key, ref)
}

func (s *shard) removeHeapAt(i int) {
	last := len(s.heapKey) - 1
	if i != last {
		s.heapKey[i], s.heapRef[i] = s.heapKey[last], s.heapRef[last]
		s.heapKey, s.heapRef = s.heapKey[:last], s.heapRef[:last]
		s.down(i)
		s.up(i)
		return
	}
	s.heapKey, s.heapRef = s.heapKey[:last], s.heapRef[:last]
}

// reset empties the shard and releases its memory.
func (s *shard) reset() {
	s.recs, s.used = nil, 0
	s.heapKey, s.heapRef = nil, nil
}
