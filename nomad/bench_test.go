package nomad

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

var (
	benchOnce  sync.Once
	benchInput []byte
)

// BenchmarkReadStateBin decodes a Nomad-shaped state.bin of 100 nodes and
// 100,000 allocations (each carrying its job, as Nomad writes them).
func BenchmarkReadStateBin(b *testing.B) {
	benchOnce.Do(func() { benchInput = buildBenchStream() })
	in := benchInput
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		im, err := ReadStateBin(bytes.NewReader(in))
		if err != nil || len(im.Allocs) != 100000 {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(100000*b.N)/b.Elapsed().Seconds(), "allocs/s")
}

func buildBenchStream() []byte {
	t := &testing.T{}
	s := newStream(t)
	job := nomadJobRec("api", "service", 3)
	s.add(1, job)
	for i := range 100 {
		s.add(0, nomadNodeRec(fmt.Sprintf("n%03d", i), "ready", false))
	}
	for i := range 100000 {
		s.add(4, nomadAllocRec(fmt.Sprintf("a%06d", i), fmt.Sprintf("n%03d", i%100), "running", job))
	}
	return s.bytes()
}
