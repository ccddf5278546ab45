package testutil

import (
	"testing"

	"github.com/shoenig/test/must"
)

// TestStorm runs the reconnect storm in process and over TCP loopback; both
// must reconnect exactly the cut half with no duplicate or missing alloc.
func TestStorm(t *testing.T) {
	for _, tc := range []struct {
		name        string
		run         func(seed uint64, nodes int) (*StormResult, error)
		nodes, race int // fleet size without and with -race
	}{
		{"in-process", RunStorm, 1000, 200},
		{"tcp", RunStormTCP, 300, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nodes := tc.nodes
			if raceEnabled {
				nodes = tc.race
			}
			res, err := tc.run(1, nodes)
			must.NoError(t, err)
			must.NoError(t, res.Err)
			must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res.SimResult)))
			must.Eq(t, nodes/2, res.Stats.NodesDisconnected)
			must.Eq(t, nodes/2, res.Stats.NodesReconnected)
			must.Eq(t, stormAllocsEach*nodes/2, res.Stats.AllocsDisconnected)
			must.Zero(t, res.Duplicates)
			must.Zero(t, res.Missing)
			must.Eq(t, stormAllocsEach*nodes, res.Live)
			must.Less(t, 3*stormAllocsEach, res.MaxPerNode) // spread, not piled up
			must.Positive(t, res.Converged)
			t.Logf("%s, %d nodes: converged %s (simulated) after the heal, %s wall", tc.name, nodes, res.Converged, res.ConvergeWall)
		})
	}
}

// BenchmarkStorm: 10,000 nodes x 5 allocs, half partitioned past their TTL
// and healed at once. Reports the wall time from the heal to convergence.
func BenchmarkStorm(b *testing.B) { benchStorm(b, RunStorm, "") }

// BenchmarkStormTCP is BenchmarkStorm with every client call over the real
// RPC transport (msgpack over TCP on 127.0.0.1); time stays simulated.
func BenchmarkStormTCP(b *testing.B) { benchStorm(b, RunStormTCP, " over TCP") }

func benchStorm(b *testing.B, run func(seed uint64, nodes int) (*StormResult, error), how string) {
	for i := 0; i < b.N; i++ {
		res, err := run(uint64(i+1), 10_000)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("storm of 10,000 nodes%s: converged %s simulated after the heal in %s wall, %s CPU (whole run %s); live %d, duplicates %d, missing %d",
			how, res.Converged, res.ConvergeWall, res.ConvergeCPU, res.TotalWall, res.Live, res.Duplicates, res.Missing)
		if res.Failed() || res.Duplicates > 0 || res.Missing > 0 {
			b.Fatalf("storm failed: dup=%d missing=%d\n%s", res.Duplicates, res.Missing, FailureReport(res.SimResult))
		}
		b.ReportMetric(res.ConvergeWall.Seconds(), "converge-wall-s")
		b.ReportMetric(res.ConvergeCPU.Seconds(), "converge-cpu-s")
		b.ReportMetric(res.Converged.Seconds(), "converge-sim-s")
		b.ReportMetric(res.TotalWall.Seconds(), "total-wall-s")
	}
}
