package cmdlog

import (
	"testing"

	"github.com/rejoinhq/rejoin/structs"
)

// BenchmarkAppendSync appends commands with a ~300-byte payload (a
// one-alloc client update is about that) and fsyncs every 1,000 (group
// commit, as a server syncing per batch of applied commands would).
func BenchmarkAppendSync(b *testing.B) {
	l, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	payload := make([]byte, 300)
	var i uint64
	for b.Loop() {
		i++
		if err := l.Append(Record{Index: i, Time: t0, Type: structs.AllocClientUpdateRequestType, Payload: payload}); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 {
			if err := l.Sync(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := l.Sync(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
}
