package testutil

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// The reference races as named simulations. Each is a small cluster with a
// scripted fault; all must end with every invariant intact.

func TestRegression_UpdateBeforeHeartbeatOnReconnect(t *testing.T) {
	s, err := NewSim(reconnectScenario())
	must.NoError(t, err)
	s.RunFor(3 * time.Minute) // node-000/001 cut off at 2m and disconnected
	n, _ := s.Store().NodeByID(nil, NodeName(0))
	must.Eq(t, structs.NodeStatusDisconnected, n.Status)

	// The link comes back and the client's alloc report goes out before
	// its next heartbeat does.
	c := s.Client(0)
	s.net.Heal(c.ID)
	for _, a := range c.allocs {
		a.version++
	}
	c.report()
	s.RunFor(100 * time.Millisecond)
	must.Eq(t, 1, s.stats.AllocUpdatesNotReady) // refused: heartbeat first
	n, _ = s.Store().NodeByID(nil, NodeName(0))
	must.Eq(t, structs.NodeStatusDisconnected, n.Status)

	res := s.Run()
	must.NoError(t, res.Err)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	must.Eq(t, 2, res.Stats.AllocsReconnected) // retried after the heartbeat, then reconnected
	must.Eq(t, 2, res.Stats.Decisions["stop: "+structs.AllocReconnected])
	assertRunning(t, s, 2)
}

func TestRegression_ReconnectThenJobUpdate(t *testing.T) {
	ev := partition(2*time.Minute, 2*time.Minute, 0, 1)
	ev = append(ev, Event{At: 4*time.Minute + 2*time.Second, Kind: EvUpdateJob, Job: 0})
	cfg := scenario(serviceJob(2, lostAfter(5*time.Minute, structs.ReconcileOptionBestScore)), 8*time.Minute, ev...)
	s, err := NewSim(cfg)
	must.NoError(t, err)
	res := s.Run()
	must.NoError(t, res.Err)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	must.Positive(t, res.Stats.AllocsDisconnected)
	must.Positive(t, res.Stats.Decisions["stop: "+structs.AllocUpdating])
	assertRunning(t, s, 2)
}

func TestRegression_JobStoppedWhileClientDisconnected(t *testing.T) {
	ev := partition(2*time.Minute, 3*time.Minute, 0, 1)
	ev = append(ev, Event{At: 3 * time.Minute, Kind: EvStopJob, Job: 0})
	cfg := scenario(serviceJob(2, lostAfter(5*time.Minute, structs.ReconcileOptionKeepOriginal)), 8*time.Minute, ev...)
	s, err := NewSim(cfg)
	must.NoError(t, err)
	res := s.Run()
	must.NoError(t, res.Err)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	must.Positive(t, res.Stats.AllocsDisconnected)
	must.Zero(t, res.Stats.AllocsReconnected) // desired stop wins
	assertRunning(t, s, 0)
	// The clients stopped what they were running.
	for i := 0; i < 2; i++ {
		for _, a := range s.Client(i).allocs {
			must.True(t, structs.ClientTerminalStatus(a.status), must.Sprintf("alloc %s still %s on its client", a.id, a.status))
		}
	}
}

func TestRegression_DisconnectTwice(t *testing.T) {
	ev := partition(2*time.Minute, 90*time.Second, 0, 1)
	ev = append(ev, partition(5*time.Minute, 90*time.Second, 0, 1)...)
	cfg := scenario(serviceJob(2, lostAfter(5*time.Minute, structs.ReconcileOptionKeepOriginal)), 9*time.Minute, ev...)
	s, err := NewSim(cfg)
	must.NoError(t, err)
	res := s.Run()
	must.NoError(t, res.Err)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	must.Eq(t, 4, res.Stats.NodesDisconnected)
	must.Eq(t, 4, res.Stats.AllocsDisconnected)
	must.Eq(t, 4, res.Stats.AllocsReconnected) // each disconnect reconnected once
	assertRunning(t, s, 2)
}

func TestRegression_ClientRestartedWithoutStateWhileDisconnected(t *testing.T) {
	ev := partition(2*time.Minute, 90*time.Second, 0)
	ev = append(ev,
		Event{At: 2*time.Minute + 30*time.Second, Kind: EvCrash, Nodes: []int{0}},
		Event{At: 3*time.Minute + 40*time.Second, Kind: EvRestart, Nodes: []int{0}, WithState: false})
	cfg := scenario(serviceJob(2, lostAfter(5*time.Minute, structs.ReconcileOptionKeepOriginal)), 8*time.Minute, ev...)
	s, err := NewSim(cfg)
	must.NoError(t, err)
	res := s.Run()
	must.NoError(t, res.Err)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	must.Eq(t, 1, res.Stats.AllocsDisconnected)
	must.Eq(t, 1, res.Stats.AllocsReconnected)
	assertRunning(t, s, 2)
	// The restarted client runs its original alloc again.
	allocs, err := s.Store().AllocsByNode(nil, NodeName(0))
	must.NoError(t, err)
	running := 0
	for _, a := range allocs {
		if a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusRunning {
			running++
		}
	}
	must.Eq(t, 1, running)
}

// assertRunning checks the job has exactly n allocs wanted and running.
func assertRunning(t *testing.T, s *Sim, n int) {
	t.Helper()
	allocs, err := s.Store().AllocsByJob(nil, structs.DefaultNamespace, JobName(0))
	must.NoError(t, err)
	running := 0
	for _, a := range allocs {
		if a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusRunning {
			running++
		}
	}
	must.Eq(t, n, running)
}

func TestRegression_StopOnClientAfter(t *testing.T) {
	stop := 45 * time.Second
	job := serviceJob(2, &structs.DisconnectStrategy{StopOnClientAfter: &stop})
	cfg := scenario(job, 8*time.Minute, partition(2*time.Minute, 3*time.Minute, 0, 1)...)
	s, err := NewSim(cfg)
	must.NoError(t, err)
	s.RunFor(2*time.Minute + 30*time.Second)
	for i := 0; i < 2; i++ { // cut off 30s: the clients still run their allocs
		for _, a := range s.Client(i).allocs {
			must.Eq(t, structs.AllocClientStatusRunning, a.status)
		}
	}
	s.RunFor(time.Minute)
	for i := 0; i < 2; i++ { // cut off 90s: they stopped them themselves
		for _, a := range s.Client(i).allocs {
			must.Eq(t, structs.AllocClientStatusComplete, a.status)
		}
	}
	res := s.Run()
	must.NoError(t, res.Err)
	must.SliceEmpty(t, res.Violations, must.Sprint(FailureReport(res)))
	must.Eq(t, 2, res.Stats.ClientCutoffStops) // each client stopped its own alloc
	must.Eq(t, 2, res.Stats.AllocsLost)        // no disconnect support: lost, replaced
	must.Zero(t, res.Stats.AllocsReconnected)
	assertRunning(t, s, 2)
}
