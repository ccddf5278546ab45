package heartbeat

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// These benchmarks measure the machine, not the tracker: they are the floor
// a Reset at a million nodes stands on (see BENCHMARKS.md, heartbeat).

// latencySink keeps the chase from being optimised away.
var latencySink int

// chase follows a random cyclic permutation of the cache lines of mem, one
// dependent load per op: the cost of one cache miss at that working set.
func chase(b *testing.B, mem []byte) {
	const line = 64
	n := len(mem) / line
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	base := unsafe.Pointer(unsafe.SliceData(mem))
	for i, at := range order {
		*(*int)(unsafe.Add(base, at*line)) = order[(i+1)%n] * line
	}
	off := order[0] * line
	b.ResetTimer()
	for range b.N {
		off = *(*int)(unsafe.Add(base, off))
	}
	latencySink = off
}

// BenchmarkMemoryLatency: one dependent random load per op in a working set
// of 1 to 32 MiB of Go heap. The tracker's table at a million nodes is
// about 30 MiB, so a Reset of a random node pays the 32 MiB figure once.
func BenchmarkMemoryLatency(b *testing.B) {
	for _, mb := range []int{1, 4, 16, 32} {
		b.Run(fmt.Sprintf("MiB=%d", mb), func(b *testing.B) {
			chase(b, make([]byte, mb<<20))
		})
	}
}

// BenchmarkIndependentProbe: independent updates of random 24-byte records
// in a 30 MiB table, the memory access pattern of Reset without its ID
// parsing. With nothing else per op the processor overlaps several misses,
// and a mutex per op (as Reset's shard lock) does not stop that; reading
// the monotonic clock per op (as Reset does, to compute the deadline)
// orders it after the previous op's miss, so the misses are paid one after
// another.
func BenchmarkIndependentProbe(b *testing.B) {
	const n = 30 << 20 / 24
	recs := make([]urec, n)
	base := time.Now()
	var mu sync.Mutex
	for _, v := range []struct {
		name        string
		lock, clock bool
	}{{"clock=none", false, false}, {"clock=none/lock=mutex", true, false}, {"clock=monotonic", false, true}} {
		b.Run(v.name, func(b *testing.B) {
			x, found := uint64(1), 0
			for range b.N {
				x = x*6364136223846793005 + 1442695040888963407
				if v.lock {
					mu.Lock()
				}
				r := &recs[(x>>32)*n>>32]
				if r.k0 == x { // a Reset compares the key before storing
					found++
				}
				if v.clock {
					r.due = int64(time.Since(base))
				} else {
					r.due = int64(x)
				}
				if v.lock {
					mu.Unlock()
				}
			}
			latencySink = found
		})
	}
}
