package testutil

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// These tests break the server on purpose, one invariant at a time, and
// show the checker notices: proof that a clean run means something. Each
// first runs the same scenario unbroken and asserts it is clean.

// reconnectScenario: the job's two allocs sit on node-000/001; both are cut
// off for 2 minutes (past the TTL, within lost_after), get replacements,
// then reconnect and keep the originals; the job is updated afterwards.
func reconnectScenario() SimConfig {
	ev := partition(2*time.Minute, 2*time.Minute, 0, 1)
	ev = append(ev, Event{At: 6 * time.Minute, Kind: EvUpdateJob, Job: 0, InPlace: true})
	return scenario(serviceJob(2, lostAfter(5*time.Minute, structs.ReconcileOptionKeepOriginal)), 8*time.Minute, ev...)
}

// lostScenario: as reconnectScenario but cut off past lost_after: the
// originals are lost and replaced.
func lostScenario() SimConfig {
	ev := partition(2*time.Minute, 4*time.Minute, 0, 1)
	return scenario(serviceJob(2, lostAfter(time.Minute, structs.ReconcileOptionKeepOriginal)), 8*time.Minute, ev...)
}

func runScenario(t *testing.T, cfg SimConfig) *SimResult {
	t.Helper()
	s, err := NewSim(cfg)
	must.NoError(t, err)
	res := s.Run()
	must.NoError(t, res.Err)
	return res
}

func mustClean(t *testing.T, cfg SimConfig) *SimResult {
	t.Helper()
	res := runScenario(t, cfg)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	return res
}

func mustBreak(t *testing.T, cfg SimConfig, inv string) *SimResult {
	t.Helper()
	res := runScenario(t, cfg)
	must.SliceContains(t, invariants(res.Violations), inv, must.Sprint(FailureReport(res)))
	return res
}

func withPlanHook(cfg SimConfig, hook func(*structs.ApplyPlanResultsRequest, *state.Store)) SimConfig {
	cfg.Hooks.MutatePlan = hook
	return cfg
}

func jobAllocsOf(st *state.Store, plan *structs.ApplyPlanResultsRequest) func() []*structs.Allocation {
	return func() []*structs.Allocation {
		list, _ := st.AllocsByJob(nil, plan.Namespace, plan.JobID)
		return list
	}
}

func TestBreak_I1_ReconcilerNeverReplaces(t *testing.T) {
	res := mustClean(t, lostScenario())
	must.Positive(t, res.Stats.AllocsLost)
	broken := withPlanHook(lostScenario(), func(p *structs.ApplyPlanResultsRequest, st *state.Store) {
		if list, _ := st.AllocsByJob(nil, p.Namespace, p.JobID); len(list) > 0 {
			p.AllocsPlaced = nil // only the very first placement goes through
		}
	})
	mustBreak(t, broken, I1CountExact)
}

func TestBreak_I2_ReconcilerNeverReconnects(t *testing.T) {
	res := mustClean(t, reconnectScenario())
	must.Positive(t, res.Stats.AllocsReconnected)
	broken := withPlanHook(reconnectScenario(), func(p *structs.ApplyPlanResultsRequest, _ *state.Store) {
		p.AllocsReconnected = nil
	})
	mustBreak(t, broken, I2UnknownCleared)
}

func TestBreak_I3_ReconcilerIgnoresAllocStates(t *testing.T) {
	mustClean(t, reconnectScenario())
	// A reconciler that does not look at AllocStates "reconnects" every
	// running alloc it sees on each evaluation.
	broken := withPlanHook(reconnectScenario(), func(p *structs.ApplyPlanResultsRequest, st *state.Store) {
		p.AllocsReconnected = append(p.AllocsReconnected, otherAllocs(p, jobAllocsOf(st, p), func(a *structs.Allocation) bool {
			return a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusRunning
		})...)
	})
	mustBreak(t, broken, I3ReconnectOnce)
}

func TestBreak_I4_ServerWithoutReadyCheck(t *testing.T) {
	cfg := reconnectScenario()
	cfg.Hooks.DisableReadyCheck = true
	s, err := NewSim(cfg)
	must.NoError(t, err)
	s.RunFor(3 * time.Minute) // node-000 is cut off and disconnected by now
	n, err := s.Store().NodeByID(nil, NodeName(0))
	must.NoError(t, err)
	must.Eq(t, structs.NodeStatusDisconnected, n.Status)
	allocs, err := s.Store().AllocsByNode(nil, NodeName(0))
	must.NoError(t, err)
	must.SliceNotEmpty(t, allocs)
	// The client's report reaches the server before its heartbeat.
	_, err = s.srvUpdateAlloc(s.Client(0), []*structs.Allocation{{ID: allocs[0].ID, ClientStatus: structs.AllocClientStatusRunning}})
	must.NoError(t, err)                                                            // the broken server accepts it...
	must.SliceContains(t, invariants(s.Checker().Violations()), I4ReadyOnlyUpdates) // ...and the checker sees it

	// The real server refuses it and the checker stays quiet.
	s2, err := NewSim(reconnectScenario())
	must.NoError(t, err)
	s2.RunFor(3 * time.Minute)
	_, err = s2.srvUpdateAlloc(s2.Client(0), []*structs.Allocation{{ID: allocs[0].ID, ClientStatus: structs.AllocClientStatusRunning}})
	must.ErrorIs(t, err, structs.ErrNodeNotReady)
	must.SliceEmpty(t, s2.Checker().Violations())
}

func TestBreak_I5_ReconcilerResurrectsStopped(t *testing.T) {
	res := mustClean(t, reconnectScenario())
	must.Positive(t, res.Stats.Decisions["stop: "+structs.AllocReconnected])
	broken := withPlanHook(reconnectScenario(), func(p *structs.ApplyPlanResultsRequest, st *state.Store) {
		p.AllocsReconnected = append(p.AllocsReconnected, otherAllocs(p, jobAllocsOf(st, p), func(a *structs.Allocation) bool {
			return a.ServerTerminalStatus()
		})...)
	})
	mustBreak(t, broken, I5StopWins)
}

func TestBreak_I8_ReconcilerNeverStopsLosers(t *testing.T) {
	mustClean(t, reconnectScenario())
	broken := withPlanHook(reconnectScenario(), func(p *structs.ApplyPlanResultsRequest, _ *state.Store) {
		p.AllocsStopped = nil
	})
	mustBreak(t, broken, I8NoDuplicateByName)
}

func TestShrink_FindsTheEventsThatMatter(t *testing.T) {
	// Extra noise events that have nothing to do with the broken reconnect.
	cfg := reconnectScenario()
	cfg.Events = append(cfg.Events,
		Event{At: 30 * time.Second, Kind: EvCrash, Nodes: []int{3}},
		Event{At: 50 * time.Second, Kind: EvRestart, Nodes: []int{3}, WithState: true},
		Event{At: 70 * time.Second, Kind: EvLeaderLoss},
		Event{At: 80 * time.Second, Kind: EvLeaderGain},
	)
	SortEvents(cfg.Events)
	cfg = withPlanHook(cfg, func(p *structs.ApplyPlanResultsRequest, _ *state.Store) { p.AllocsReconnected = nil })
	res := mustBreak(t, cfg, I2UnknownCleared)
	Shrink(res, 30)
	must.NotNil(t, res.Shortest)
	var kinds []EventKind
	for _, e := range res.Shortest {
		kinds = append(kinds, e.Event.Kind)
	}
	// The job, the partition and its heal are all it takes.
	must.Eq(t, []EventKind{EvRegisterJob, EvPartition, EvHeal}, kinds, must.Sprint(FailureReport(res)))
}
