package reconcile_test

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/testutil"
)

// The worker's allocation cache must not change a single decision: a
// simulation gives the same trace (every command the store applied) whether
// every job's allocations come from the whole-table scan or from
// AllocsByJob. Not parallel: it changes a package default.
func TestWorkerAllocCacheKeepsTraces(t *testing.T) {
	run := func(fill int, cfg testutil.SimConfig) *testutil.SimResult {
		defer reconcile.SetAllocMemoFill(fill)()
		s, err := testutil.NewSim(cfg)
		must.NoError(t, err)
		res := s.Run()
		must.NoError(t, res.Err)
		must.SliceEmpty(t, res.Violations)
		return res
	}
	const never, always = 1 << 30, 0
	seeds, nodes := uint64(8), 200
	if raceEnabled {
		seeds, nodes = 2, 100
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		a, b := run(never, testutil.DefaultSimConfig(seed)), run(always, testutil.DefaultSimConfig(seed))
		must.Eq(t, a.TraceHash, b.TraceHash, must.Sprintf("seed %d", seed))
	}
	// A storm: many jobs per pass, reconnects and stops of other jobs'
	// allocations between a job's reads.
	a, b := run(never, testutil.StormConfig(1, nodes)), run(1, testutil.StormConfig(1, nodes))
	must.Positive(t, a.Stats.NodesReconnected)
	must.Eq(t, a.TraceHash, b.TraceHash)
}
