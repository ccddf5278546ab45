package testutil

import (
	"testing"

	"github.com/shoenig/test/must"
)

func TestSameSeedSameTrace(t *testing.T) {
	t.Parallel()
	run := func(seed uint64) *SimResult {
		s, err := NewSim(DefaultSimConfig(seed))
		must.NoError(t, err)
		res := s.Run()
		must.NoError(t, res.Err)
		return res
	}
	a, b := run(42), run(42)
	must.Eq(t, a.TraceHash, b.TraceHash)
	must.Eq(t, a.Steps, b.Steps)
	must.Eq(t, a.Stats.Commands, b.Stats.Commands)
	must.Positive(t, a.Stats.Commands)
	c := run(43)
	must.NotEq(t, a.TraceHash, c.TraceHash)
}

// TestTraceIndependentOfEvalParallelism: the eval worker prepares jobs on
// as many goroutines as it is given, yet writes the same commands, so a
// seed replays exactly on a machine with another core count. The storm's
// many small jobs fill whole batches.
func TestTraceIndependentOfEvalParallelism(t *testing.T) {
	t.Parallel()
	for _, cfg := range []SimConfig{DefaultSimConfig(7), StormConfig(7, 200)} {
		var hashes []string
		for _, p := range []int{1, 4} {
			cfg.EvalParallelism = p
			s, err := NewSim(cfg)
			must.NoError(t, err)
			res := s.Run()
			must.NoError(t, res.Err)
			must.Positive(t, res.Stats.EvalsProcessed)
			hashes = append(hashes, res.TraceHash)
		}
		must.Eq(t, hashes[0], hashes[1])
	}
}

func TestEventsAreDrawnFromTheSeed(t *testing.T) {
	cfg := DefaultSimConfig(5)
	must.Eq(t, GenerateEvents(cfg), GenerateEvents(cfg))
	other := DefaultSimConfig(6)
	must.NotEq(t, GenerateEvents(cfg), GenerateEvents(other))
	// The last quarter of the nodes is never hurt.
	for _, e := range GenerateEvents(cfg) {
		for _, n := range e.Nodes {
			must.Less(t, cfg.Nodes-cfg.Nodes/4, n)
		}
	}
}
