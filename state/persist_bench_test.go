package state

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const benchAllocs = 1_000_000

var benchSnap struct {
	once sync.Once
	file []byte
	heap uint64 // live heap of a store read from file
}

// benchFile builds (once) a 1,000,000-alloc store with LoadStore and its
// snapshot file.
func benchFile(b *testing.B) []byte {
	benchSnap.once.Do(func() {
		s := genStore(b, benchAllocs)
		var buf bytes.Buffer
		if _, err := s.Snapshot().Persist(&buf, t0); err != nil {
			b.Fatal(err)
		}
		benchSnap.file = buf.Bytes()
	})
	return benchSnap.file
}

func heapAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkPersist writes a 1,000,000-alloc store's snapshot.
func BenchmarkPersist(b *testing.B) {
	s := genStore(b, benchAllocs)
	b.ResetTimer()
	var n int64
	for b.Loop() {
		cw := &countWriter{}
		if _, err := s.Snapshot().Persist(cw, t0); err != nil {
			b.Fatal(err)
		}
		n = cw.n
	}
	b.ReportMetric(float64(benchAllocs)*float64(b.N)/b.Elapsed().Seconds(), "allocs/s")
	b.ReportMetric(float64(n)/(1<<20), "file-MiB")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkRestore reads a 1,000,000-alloc snapshot into a fresh store,
// and reports the peak heap while reading against the heap the restored
// store keeps (both above the heap before the read, file bytes excluded).
func BenchmarkRestore(b *testing.B) {
	file := benchFile(b)
	var peakRatio float64
	b.ResetTimer()
	for b.Loop() {
		runtime.GC()
		base := heapAlloc()
		var peak atomic.Uint64
		done := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				if h := heapAlloc(); h > peak.Load() {
					peak.Store(h)
				}
				select {
				case <-done:
					return
				case <-tick.C:
				}
			}
		}()
		s, _, err := ReadSnapshot(bytes.NewReader(file), nil)
		close(done)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		runtime.GC()
		kept := heapAlloc() - base
		peakRatio = float64(peak.Load()-base) / float64(kept)
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(float64(benchAllocs)*float64(b.N)/b.Elapsed().Seconds(), "allocs/s")
	b.ReportMetric(peakRatio, "peak/store-heap")
}
