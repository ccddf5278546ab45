package heartbeat

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

func (b *afterFuncTracker) Reset(id string, ttl time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if t, ok := b.timers[id]; ok {
		t.Reset(ttl)
		return
	}
	b.timers[id] = time.AfterFunc(ttl, func() { b.expire(id) })
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
	Reset(id string, ttl time.Duration)
	Stop()
}

type trackerResetter struct{ *Tracker }

func (t trackerResetter) Reset(id string, ttl time.Duration) { t.Tracker.Reset(id, ttl) }

var designs = []struct {
	name string
	make func(onExpire func([]string)) resetter
}{
	{"design=tracker", func(f func([]string)) resetter {
		return trackerResetter{NewTracker(TrackerConfig{Clock: clock.System{}, OnExpire: f})}
	}},
	{"design=afterfunc", func(f func([]string)) resetter { return newAfterFuncTracker(f) }},
}

const benchNodes = 1_000_000

var (
	benchIDsOnce sync.Once
	benchIDs     []string
)

// nodeIDs returns n UUID-shaped IDs, generated once and shared by every
// benchmark so neither design is charged for the strings.
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
// in registration order (the IDs' strings and the tracker's slots are then
// read mostly sequentially), and in a scattered order where every reset
// touches memory no recent reset touched, as heartbeats from a large fleet do.
var resetOrders = []struct {
	name string
	next func(n int) int
}{
	{"order=sequential", func(n int) int { return n % benchNodes }},
	{"order=scattered", func(n int) int { return (n * 7919) % benchNodes }},
}

// BenchmarkReset: one heartbeat reset of an already tracked node among
// 1,000,000 tracked nodes, on the system clock.
func BenchmarkReset(b *testing.B) {
	ids := nodeIDs(benchNodes)
	for _, o := range resetOrders {
		for i, d := range designs {
			b.Run(o.name+"/"+d.name, func(b *testing.B) {
				r := filled(b, i)
				b.ReportAllocs()
				b.ResetTimer()
				for n := 0; n < b.N; n++ {
					r.Reset(ids[o.next(n)], time.Hour)
				}
			})
		}
	}
}

// BenchmarkResetParallel: the same with GOMAXPROCS goroutines resetting.
func BenchmarkResetParallel(b *testing.B) {
	ids := nodeIDs(benchNodes)
	for _, o := range resetOrders {
		for i, d := range designs {
			b.Run(o.name+"/"+d.name, func(b *testing.B) {
				r := filled(b, i)
				var seq atomic.Int64
				b.ReportAllocs()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					n := int(seq.Add(1)) * 104729
					for pb.Next() {
						r.Reset(ids[o.next(n)], time.Hour)
						n++
					}
				})
			})
		}
	}
}

// BenchmarkMemoryPerNode: heap bytes per tracked node with 1,000,000 nodes
// (the IDs are allocated beforehand and not counted).
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
