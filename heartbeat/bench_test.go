package heartbeat

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/rejoinhq/rejoin/clock"
)

// afterFuncTracker is the baseline: Nomad's design of one runtime timer per
// node (time.AfterFunc) in a map under one mutex.
type afterFuncTracker struct {
	mu       sync.Mutex // protects timers
	timers   map[string]*time.Timer
	onExpire func([]string)
}

func newAfterFuncTracker(onExpire func([]string)) *afterFuncTracker {
	return &afterFuncTracker{timers: map[string]*time.Timer{}, onExpire: onExpire}
}

// Reset reports whether id was newly tracked.
func (b *afterFuncTracker) Reset(id string, ttl time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.timers[id]; ok {
		t.Reset(ttl)
		return false
	}
	b.timers[id] = time.AfterFunc(ttl, func() { b.expire(id) })
	return true
}

func (b *afterFuncTracker) expire(id string) {
	b.mu.Lock()
	delete(b.timers, id)
	b.mu.Unlock()
	if b.onExpire != nil {
		b.onExpire([]string{id})
	}
}

func (b *afterFuncTracker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for id, t := range b.timers {
		t.Stop()
		delete(b.timers, id)
	}
}

// resetter is what both designs offer the benchmarks.
type resetter interface {
	Reset(id string, ttl time.Duration) (inserted bool)
	Stop()
}

var designs = []struct {
	name string
	make func(onExpire func([]string)) resetter
}{
	{"design=tracker", func(f func([]string)) resetter {
		return NewTracker(TrackerConfig{Clock: clock.System{}, OnExpire: f})
	}},
	{"design=afterfunc", func(f func([]string)) resetter { return newAfterFuncTracker(f) }},
}

const benchNodes = 1_000_000

var (
	benchIDsOnce sync.Once
	benchIDs     []string
)

// nodeIDs returns n canonical lowercase UUIDs (the form of Nomad's node
// IDs), generated once and shared by every benchmark so neither design is
// charged for the strings.
func nodeIDs(n int) []string {
	benchIDsOnce.Do(func() {
		benchIDs = make([]string, benchNodes)
		for i := range benchIDs {
			benchIDs[i] = fmt.Sprintf("%08x-%04x-4000-8000-%012x", i*2654435761%(1<<32), i%65536, i)
		}
	})
	return benchIDs[:n]
}

// filled returns a design with benchNodes tracked under a long TTL, built
// once per design and reused by later calls.
var filledCache sync.Map // design name -> resetter

func filled(b *testing.B, i int) resetter {
	if r, ok := filledCache.Load(designs[i].name); ok {
		return r.(resetter)
	}
	b.StopTimer()
	defer b.StartTimer()
	r := designs[i].make(nil)
	for _, id := range nodeIDs(benchNodes) {
		r.Reset(id, time.Hour)
	}
	filledCache.Store(designs[i].name, r)
	return r
}

// resetOrders are the orders in which benchmarks visit the tracked nodes:
// in registration order, and in a scattered order where every reset touches
// a node no recent reset touched, as heartbeats from a large fleet do. The
// tracker places records by hash in either order; the order matters for the
// ID strings the benchmark itself keeps (see idSources).
var resetOrders = []struct {
	name string
	next func(n int) int
}{
	{"order=sequential", func(n int) int { return n % benchNodes }},
	{"order=scattered", func(n int) int { return (n * 7919) % benchNodes }},
}

// idSources are where the ID passed to Reset comes from.
//
// ids=fresh models a server: the ID was just decoded from a heartbeat RPC,
// so its bytes are in cache and it is a different string from the one the
// node was registered with. The benchmark writes the k-th ID's text into one
// reused buffer (arithmetic only, no read of the stored IDs) and passes a
// string over that buffer. Neither design retains the string when the node
// is already tracked (the tracker compares it; the baseline's map lookup
// compares it), and every node is, so reusing the buffer is safe; the
// tracker's Reset result is checked to prove it. Formatting costs the same
// in both designs (BenchmarkFreshID measures it alone).
//
// ids=stored passes the very string the node was registered with, read
// from a slice of a million strings: in scattered order those bytes are a
// cache miss that a server would not pay, and string comparison can stop
// at pointer equality, which a server would not get either. Kept for
// comparison with earlier runs.
var idSources = []string{"ids=fresh", "ids=stored"}

// freshID writes nodeIDs(n)[k] into buf and returns a string over buf,
// valid until the next call with the same buf.
func freshID(buf *[36]byte, k int) string {
	binary.BigEndian.PutUint64(buf[0:8], hex8BE(uint32(k*2654435761)))
	binary.BigEndian.PutUint32(buf[9:13], uint32(hex8BE(uint32(k&0xffff))))
	copy(buf[13:24], "-4000-8000-")
	binary.BigEndian.PutUint32(buf[24:28], uint32(hex8BE(uint32(k>>32&0xffff))))
	binary.BigEndian.PutUint64(buf[28:36], hex8BE(uint32(k)))
	buf[8] = '-'
	return unsafe.String(&buf[0], len(buf))
}

// hex8BE returns v as eight lowercase hex digits, the first in the most
// significant byte.
func hex8BE(v uint32) uint64 {
	const ones = 0x0101010101010101
	x := uint64(v)
	x = (x | x<<16) & 0x0000ffff0000ffff
	x = (x | x<<8) & 0x00ff00ff00ff00ff
	x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
	return x + 0x30*ones + ((x+0x06*ones)>>4)&ones*0x27
}

// BenchmarkFreshID: the cost of producing an ids=fresh ID alone, to be
// read against BenchmarkReset's ids=fresh figures.
func BenchmarkFreshID(b *testing.B) {
	ids := nodeIDs(1000)
	var check [36]byte
	for k, id := range ids {
		if got := freshID(&check, k); got != id {
			b.Fatalf("freshID(%d) = %s, want %s", k, got, id)
		}
	}
	b.ResetTimer()
	var buf [36]byte
	var sink int
	for n := 0; n < b.N; n++ {
		sink += len(freshID(&buf, (n*7919)%benchNodes))
	}
	runtime.KeepAlive(sink)
}

// BenchmarkReset: one heartbeat reset of an already tracked node among
// 1,000,000 tracked nodes, on the system clock.
func BenchmarkReset(b *testing.B) {
	ids := nodeIDs(benchNodes)
	for _, src := range idSources {
		for _, o := range resetOrders {
			for i, d := range designs {
				fresh := src == "ids=fresh"
				b.Run(src+"/"+o.name+"/"+d.name, func(b *testing.B) {
					r := filled(b, i)
					var buf [36]byte
					b.ReportAllocs()
					b.ResetTimer()
					for n := 0; n < b.N; n++ {
						var id string
						if k := o.next(n); fresh {
							id = freshID(&buf, k)
						} else {
							id = ids[k]
						}
						if r.Reset(id, time.Hour) {
							b.Fatalf("%s was not tracked", id)
						}
					}
				})
			}
		}
	}
}

// BenchmarkResetParallel: the same with GOMAXPROCS goroutines resetting.
func BenchmarkResetParallel(b *testing.B) {
	ids := nodeIDs(benchNodes)
	for _, src := range idSources {
		for _, o := range resetOrders {
			for i, d := range designs {
				fresh := src == "ids=fresh"
				b.Run(src+"/"+o.name+"/"+d.name, func(b *testing.B) {
					r := filled(b, i)
					var seq atomic.Int64
					b.ReportAllocs()
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						var buf [36]byte
						n := int(seq.Add(1)) * 104729
						for pb.Next() {
							var id string
							if k := o.next(n); fresh {
								id = freshID(&buf, k)
							} else {
								id = ids[k]
							}
							if r.Reset(id, time.Hour) {
								panic(id + " was not tracked")
							}
							n++
						}
					})
				})
			}
		}
	}
}

// BenchmarkMemoryPerNode: heap bytes per tracked node with 1,000,000 nodes
// (the IDs are allocated beforehand and not counted). The benchmark keeps
// every ID string alive, so the baseline's map keys cost it nothing here,
// though in a server they would be the only reference to strings decoded
// from RPCs; the tracker keeps no reference to UUID IDs at all.
func BenchmarkMemoryPerNode(b *testing.B) {
	ids := nodeIDs(benchNodes)
	for _, d := range designs {
		b.Run(d.name, func(b *testing.B) {
			var perNode float64
			for n := 0; n < b.N; n++ {
				var before, after runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&before)
				r := d.make(nil)
				for _, id := range ids {
					r.Reset(id, time.Hour)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perNode = float64(after.HeapAlloc-before.HeapAlloc) / benchNodes
				r.Stop()
				runtime.KeepAlive(r)
			}
			b.ReportMetric(perNode, "B/node")
		})
	}
}

// BenchmarkExpiry100k: 100,000 nodes share one deadline on the system
// clock; the metric is the time from that deadline until the last expired
// node has been delivered to the callback.
func BenchmarkExpiry100k(b *testing.B) {
	const n = 100_000
	ids := nodeIDs(n)
	for _, d := range designs {
		b.Run(d.name, func(b *testing.B) {
			var total time.Duration
			for iter := 0; iter < b.N; iter++ {
				var got atomic.Int64
				done := make(chan time.Time, 1)
				r := d.make(func(expired []string) {
					if got.Add(int64(len(expired))) == n {
						done <- time.Now()
					}
				})
				deadline := time.Now().Add(300 * time.Millisecond)
				for _, id := range ids {
					r.Reset(id, time.Until(deadline))
				}
				if time.Now().After(deadline) {
					b.Fatalf("setup took longer than the deadline")
				}
				finished := <-done
				total += finished.Sub(deadline)
				r.Stop()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/100k")
			b.ReportMetric(0, "ns/op")
		})
	}
}
