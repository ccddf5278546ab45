package testutil

import (
	"testing"

	"github.com/shoenig/test/must"
)

// Over TCP the server sees the same requests in the same order as in
// process (msgpack round trips and all), so a seed gives the same trace.
func TestTCPSameTraceAsInProcess(t *testing.T) {
	t.Parallel()
	run := func(tcp bool) *SimResult {
		cfg := DefaultSimConfig(42)
		cfg.TCP = tcp
		s, err := NewSim(cfg)
		must.NoError(t, err)
		res := s.Run()
		must.NoError(t, s.Close())
		must.NoError(t, res.Err)
		must.SliceEmpty(t, res.Violations)
		return res
	}
	in, tcp := run(false), run(true)
	must.Positive(t, tcp.Stats.Commands)
	must.Eq(t, in.Stats.Commands, tcp.Stats.Commands)
	must.Eq(t, in.TraceHash, tcp.TraceHash)
}
