package heartbeat

import "sync"

// shard is one lock's worth of tracked nodes: an open-addressing index from
// node ID to a dense slot, per-slot arrays, and a 4-ary min-heap of slots by
// deadline. Dense slots keep the per-node cost to a few machine words and no
// per-node heap object, so the garbage collector has almost nothing to scan.
//
// Deadlines are int64 nanoseconds since the tracker's base time. A heap key
// is a lower bound of its slot's real deadline (due): a Reset that moves a
// deadline later only stores due (O(1)); the heap entry is re-keyed when it
// reaches the root. A Reset that moves a deadline earlier lowers the key.
type shard struct {
	mu sync.Mutex // protects every field below

	// index: linear probing, backward-shift deletion. An entry is
	// tag<<32 | slot+1, 0 when empty; tag is the high 32 bits of the node's
	// hash and its low bits are the home bucket.
	index []uint64
	used  int

	ids  []string // slot -> node ID ("" when free)
	due  []int64  // slot -> real deadline
	pos  []int32  // slot -> heap position, -1 when free
	free []uint32 // free slots, reused before growing

	heap []heapEntry

	_ [64]byte // keeps neighbouring shards' locks off this cache line
}

type heapEntry struct {
	key  int64 // <= due[slot]
	slot uint32
}

const minIndexSize = 16

// lookup returns the slot of id and true, or the index position where id
// would be inserted and false.
func (s *shard) lookup(tag uint32, id string) (int, uint32, bool) {
	if len(s.index) == 0 {
		return 0, 0, false
	}
	mask := uint32(len(s.index) - 1)
	i := tag & mask
	for {
		e := s.index[i]
		if e == 0 {
			return int(i), 0, false
		}
		if uint32(e>>32) == tag {
			if slot := uint32(e) - 1; s.ids[slot] == id {
				return int(i), slot, true
			}
		}
		i = (i + 1) & mask
	}
}

// insert adds id with deadline due; the caller has checked it is absent.
func (s *shard) insert(tag uint32, id string, due int64) {
	if (s.used+1)*4 > len(s.index)*3 {
		s.grow()
	}
	var slot uint32
	if n := len(s.free); n > 0 {
		slot = s.free[n-1]
		s.free = s.free[:n-1]
		s.ids[slot], s.due[slot] = id, due
	} else {
		slot = uint32(len(s.ids))
		s.ids = append(s.ids, id)
		s.due = append(s.due, due)
		s.pos = append(s.pos, -1)
	}
	mask := uint32(len(s.index) - 1)
	i := tag & mask
	for s.index[i] != 0 {
		i = (i + 1) & mask
	}
	s.index[i] = uint64(tag)<<32 | uint64(slot+1)
	s.used++
	s.heap = append(s.heap, heapEntry{key: due, slot: slot})
	s.up(len(s.heap) - 1)
}

// grow doubles the index and reinserts every entry.
func (s *shard) grow() {
	n := len(s.index) * 2
	if n < minIndexSize {
		n = minIndexSize
	}
	old := s.index
	s.index = make([]uint64, n)
	mask := uint32(n - 1)
	for _, e := range old {
		if e == 0 {
			continue
		}
		i := uint32(e>>32) & mask
		for s.index[i] != 0 {
			i = (i + 1) & mask
		}
		s.index[i] = e
	}
}

// deleteAt removes the slot whose index entry is at position i: index entry,
// heap entry, and the slot itself (returned to the free list).
func (s *shard) deleteAt(i int, slot uint32) {
	mask := len(s.index) - 1
	// Backward-shift deletion keeps every probe chain unbroken without
	// tombstones.
	j := i
	for {
		j = (j + 1) & mask
		e := s.index[j]
		if e == 0 {
			break
		}
		home := int(uint32(e>>32)) & mask
		// Move e into the hole unless its home lies cyclically in (i, j].
		if (i <= j && (home <= i || home > j)) || (i > j && home <= i && home > j) {
			s.index[i] = e
			i = j
		}
	}
	s.index[i] = 0
	s.used--
	s.removeHeapAt(int(s.pos[slot]))
	s.ids[slot] = "" // let the string be collected
	s.pos[slot] = -1
	s.free = append(s.free, slot)
}

// up restores heap order from position i towards the root.
func (s *shard) up(i int) {
	h := s.heap
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if h[p].key <= e.key {
			break
		}
		h[i] = h[p]
		s.pos[h[i].slot] = int32(i)
		i = p
	}
	h[i] = e
	s.pos[e.slot] = int32(i)
}

// down restores heap order from position i towards the leaves.
func (s *shard) down(i int) {
	h := s.heap
	n := len(h)
	e := h[i]
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for k := c + 1; k < end; k++ {
			if h[k].key < h[m].key {
				m = k
			}
		}
		if h[m].key >= e.key {
			break
		}
		h[i] = h[m]
		s.pos[h[i].slot] = int32(i)
		i = m
	}
	h[i] = e
	s.pos[e.slot] = int32(i)
}

func (s *shard) removeHeapAt(i int) {
	last := len(s.heap) - 1
	if i != last {
		s.heap[i] = s.heap[last]
		s.heap = s.heap[:last]
		s.down(i)
		s.up(i)
		return
	}
	s.heap = s.heap[:last]
}

// reset empties the shard and releases its memory.
func (s *shard) reset() {
	s.index, s.used = nil, 0
	s.ids, s.due, s.pos, s.free, s.heap = nil, nil, nil, nil, nil
}
