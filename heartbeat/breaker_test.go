package heartbeat

import (
	"fmt"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

// breakerSetup tracks size ready nodes of dc1 (all with a 10s TTL, so every
// deadline is at 20s), then lets the first silent ones miss their heartbeat
// while the rest heartbeat at 15s. It returns the IDs of silent and healthy.
func breakerSetup(t *testing.T, hs *harness, size, silent int) ([]string, []string) {
	t.Helper()
	hs.h.SetLeader(true)
	var quiet, healthy []string
	for i := range size {
		id := fmt.Sprintf("n%02d", i)
		hs.store.addNode(id, "dc1", structs.NodeStatusReady)
		_, err := hs.h.ResetHeartbeatTimer(id)
		must.NoError(t, err)
		if i < silent {
			quiet = append(quiet, id)
		} else {
			healthy = append(healthy, id)
		}
	}
	hs.clk.Advance(15 * time.Second)
	for _, id := range healthy {
		hs.h.ResetHeartbeatTimer(id)
	}
	hs.clk.Advance(5 * time.Second) // t=20s: the silent ones expire together
	return quiet, healthy
}

func fixedTTL(c *Config) { c.Rand = &fixedRand{u: 0} }

func TestBreaker_AtThresholdDoesNotOpen(t *testing.T) {
	hs := newHarness(t, fixedTTL)
	quiet, _ := breakerSetup(t, hs, 20, 11) // 11/20 = 55%: not strictly above
	must.Len(t, len(quiet), hs.store.cmds())
	for _, id := range quiet {
		must.Eq(t, structs.NodeStatusDown, hs.store.status(id))
	}
	must.Eq(t, 0, hs.metrics.counter(MetricBreakerOpened))
}

func TestBreaker_AboveThresholdHolds(t *testing.T) {
	hs := newHarness(t, fixedTTL)
	quiet, _ := breakerSetup(t, hs, 20, 12) // 12/20 = 60%
	must.SliceEmpty(t, hs.store.cmds())
	for _, id := range quiet {
		must.Eq(t, structs.NodeStatusReady, hs.store.status(id))
	}
	must.Eq(t, 1, hs.metrics.counter(MetricBreakerOpened))
	must.Eq(t, 12, hs.metrics.counter(MetricHeld))
	must.Eq(t, 1.0, hs.metrics.gauges[MetricBreakerOpen])
}

func TestBreaker_SmallDatacenterNeverHeld(t *testing.T) {
	hs := newHarness(t, fixedTTL)
	quiet, _ := breakerSetup(t, hs, 9, 9)
	must.Len(t, len(quiet), hs.store.cmds())
	must.Eq(t, 0, hs.metrics.counter(MetricBreakerOpened))
}

func TestBreaker_OffSwitch(t *testing.T) {
	hs := newHarness(t, func(c *Config) { fixedTTL(c); c.BreakerDisabled = true })
	quiet, _ := breakerSetup(t, hs, 20, 20)
	must.Len(t, len(quiet), hs.store.cmds())
}

func TestBreaker_ClosesWhenHeartbeatsResume(t *testing.T) {
	hs := newHarness(t, fixedTTL)
	quiet, healthy := breakerSetup(t, hs, 20, 12)
	hs.clk.Advance(10 * time.Second) // t=30s
	for _, id := range healthy {
		hs.h.ResetHeartbeatTimer(id)
	}
	must.Eq(t, len(healthy), hs.h.Tracker().Len())

	_, err := hs.h.ResetHeartbeatTimer(quiet[0]) // a held node is back
	must.NoError(t, err)
	must.Eq(t, 1, hs.metrics.counter(MetricBreakerClosed))
	must.Eq(t, 20, hs.h.Tracker().Len())
	for _, id := range quiet {
		dl, ok := hs.h.Tracker().Deadline(id)
		must.True(t, ok, must.Sprintf("%s re-granted", id))
		must.Eq(t, epoch.Add(50*time.Second), dl) // 30s + fresh 10s TTL + 10s grace
	}
	must.SliceEmpty(t, hs.store.cmds())
	must.Eq(t, 0.0, hs.metrics.gauges[MetricBreakerOpen])
}

func TestBreaker_MaxHoldThenProcessed(t *testing.T) {
	hs := newHarness(t, fixedTTL)
	quiet, healthy := breakerSetup(t, hs, 20, 12)
	holdEnd := epoch.Add(20*time.Second + DefaultFailoverHeartbeatTTL)
	for hs.clk.Now().Add(15 * time.Second).Before(holdEnd) {
		for _, id := range healthy {
			hs.h.ResetHeartbeatTimer(id)
		}
		hs.clk.Advance(15 * time.Second)
	}
	for _, id := range healthy {
		hs.h.ResetHeartbeatTimer(id)
	}
	hs.clk.Set(holdEnd.Add(-time.Nanosecond))
	must.SliceEmpty(t, hs.store.cmds())
	hs.clk.Set(holdEnd)
	must.Len(t, len(quiet), hs.store.cmds())
	for _, id := range quiet {
		must.Eq(t, structs.NodeStatusDown, hs.store.status(id))
	}
	for _, id := range healthy {
		must.Eq(t, structs.NodeStatusReady, hs.store.status(id))
	}
	must.Eq(t, 1, hs.metrics.counter(MetricBreakerClosed))
}
