package heartbeat

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

func TestHeartbeater_ExpiresExactlyAtTTLPlusGrace(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.Rand = &fixedRand{u: 0} })
	hs.store.addNode("n1", "dc1", structs.NodeStatusReady)
	hs.h.SetLeader(true)
	ttl, err := hs.h.ResetHeartbeatTimer("n1")
	must.NoError(t, err)
	must.Eq(t, 10*time.Second, ttl)

	hs.clk.Advance(ttl + DefaultHeartbeatGrace - time.Nanosecond)
	must.Eq(t, structs.NodeStatusReady, hs.store.status("n1"))
	hs.clk.Advance(time.Nanosecond)
	must.Eq(t, structs.NodeStatusDown, hs.store.status("n1"))
	cmds := hs.store.cmds()
	must.Len(t, 1, cmds)
	must.Eq(t, epoch.Add(20*time.Second).UnixNano(), cmds[0].UpdatedAt)
	must.Eq(t, 1, hs.metrics.counter(MetricExpired))
}

func TestHeartbeater_ResetPostpones(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.Rand = &fixedRand{u: 0} })
	hs.store.addNode("n1", "dc1", structs.NodeStatusReady)
	hs.h.SetLeader(true)
	hs.h.ResetHeartbeatTimer("n1")
	hs.clk.Advance(15 * time.Second)
	hs.h.ResetHeartbeatTimer("n1") // deadline now 35s
	hs.clk.Advance(19 * time.Second)
	must.Eq(t, structs.NodeStatusReady, hs.store.status("n1"))
	hs.clk.Advance(time.Second)
	must.Eq(t, structs.NodeStatusDown, hs.store.status("n1"))
}

func TestHeartbeater_InitializeGivesFailoverTTL(t *testing.T) {
	hs := newHarness(t, nil)
	nodes := []*structs.Node{
		{ID: "ready", Status: structs.NodeStatusReady},
		{ID: "init", Status: structs.NodeStatusInit},
		{ID: "disc", Status: structs.NodeStatusDisconnected},
		{ID: "down", Status: structs.NodeStatusDown},
	}
	for _, n := range nodes {
		hs.store.addNode(n.ID, "dc1", n.Status)
	}
	hs.h.Initialize(nodes)
	must.True(t, hs.h.IsLeader())
	must.Eq(t, 3, hs.h.Tracker().Len())
	for _, id := range []string{"ready", "init", "disc"} {
		dl, ok := hs.h.Tracker().Deadline(id)
		must.True(t, ok)
		must.Eq(t, epoch.Add(DefaultFailoverHeartbeatTTL), dl)
	}
	must.False(t, hs.h.Tracker().Contains("down"))
	hs.clk.Advance(DefaultFailoverHeartbeatTTL - time.Nanosecond)
	must.SliceEmpty(t, hs.store.cmds())
}

func TestHeartbeater_NoActionAfterLeadershipLost(t *testing.T) {
	hs := newHarness(t, nil)
	hs.store.addNode("n1", "dc1", structs.NodeStatusReady)
	hs.h.SetLeader(true)
	hs.h.ResetHeartbeatTimer("n1")
	hs.h.Clear()
	must.Eq(t, 0, hs.h.Tracker().Len())
	hs.clk.Advance(time.Hour)
	must.SliceEmpty(t, hs.store.cmds())
	must.Eq(t, structs.NodeStatusReady, hs.store.status("n1"))
}

func TestHeartbeater_NoActionWhenLeadershipLostDuringBatch(t *testing.T) {
	hs := newHarness(t, nil)
	for i := range 3 {
		hs.store.addNode(fmt.Sprintf("n%d", i), "dc1", structs.NodeStatusReady)
	}
	hs.h.SetLeader(true)
	for i := range 3 {
		hs.h.ResetHeartbeatTimer(fmt.Sprintf("n%d", i))
	}
	// The batch is in flight: leadership is lost while the first expired
	// node is being read.
	var once sync.Once
	hs.store.onNodeRead = func(string) { once.Do(func() { go hs.h.Clear(); waitNotLeader(hs.h) }) }
	hs.clk.Advance(time.Hour)
	must.SliceEmpty(t, hs.store.cmds())
	must.False(t, hs.h.IsLeader())
	must.Eq(t, 0, hs.h.Tracker().Len())
}

// waitNotLeader blocks until Clear has taken effect (it runs in another
// goroutine because the test calls it from inside the expiry).
func waitNotLeader(h *Heartbeater) {
	for h.IsLeader() {
		runtime.Gosched()
	}
}

func TestHeartbeater_DeletedNodeSkipped(t *testing.T) {
	hs := newHarness(t, nil)
	hs.store.addNode("gone", "dc1", structs.NodeStatusReady)
	hs.store.addNode("racing", "dc1", structs.NodeStatusReady)
	hs.h.SetLeader(true)
	hs.h.ResetHeartbeatTimer("gone")
	hs.h.ResetHeartbeatTimer("racing")
	hs.store.mu.Lock()
	delete(hs.store.nodes, "gone")
	hs.store.mu.Unlock()
	// "racing" is deleted between the read and the write.
	hs.store.beforeApply = func(r *structs.NodeUpdateStatusRequest) { delete(hs.store.nodes, r.NodeID) }
	hs.clk.Advance(time.Hour)
	must.SliceEmpty(t, hs.store.cmds())
	must.Eq(t, "", hs.store.status("racing"))
	must.Eq(t, "", hs.store.status("gone"))
	must.Eq(t, 0, hs.h.Tracker().Len())
}

func TestHeartbeater_DisconnectThenDown(t *testing.T) {
	hs := newHarness(t, func(c *Config) { c.Rand = &fixedRand{u: 0} })
	hs.store.addNode("n1", "dc1", structs.NodeStatusReady)
	hs.store.jobs[structs.NamespacedID{Namespace: "default", ID: "b"}] = job("b", 5*time.Minute)
	hs.store.jobs[structs.NamespacedID{Namespace: "default", ID: "a"}] = job("a", 0)
	hs.store.allocs["n1"] = []*structs.Allocation{
		alloc("a2", "n1", "b", "run", "running"),
		alloc("a1", "n1", "a", "run", "running"),
		alloc("a3", "n1", "c", "run", "complete"), // finished: no eval for c
	}
	hs.h.SetLeader(true)
	hs.h.ResetHeartbeatTimer("n1")
	hs.clk.Advance(20 * time.Second)

	cmds := hs.store.cmds()
	must.Len(t, 1, cmds)
	must.Eq(t, structs.NodeStatusDisconnected, cmds[0].Status)
	must.Len(t, 2, cmds[0].Evals)
	must.Eq(t, "a", cmds[0].Evals[0].JobID) // sorted by job
	must.Eq(t, "b", cmds[0].Evals[1].JobID)
	for _, e := range cmds[0].Evals {
		must.Eq(t, structs.EvalTriggerNodeUpdate, e.TriggeredBy)
		must.Eq(t, structs.EvalStatusPending, e.Status)
		must.Eq(t, "n1", e.NodeID)
	}
	must.NotEq(t, cmds[0].Evals[0].ID, cmds[0].Evals[1].ID)

	// Still tracked: checked again at the next TTL (10s + grace) since the
	// alloc's window (5m) is longer.
	dl, ok := hs.h.Tracker().Deadline("n1")
	must.True(t, ok)
	must.Eq(t, epoch.Add(40*time.Second), dl)

	// The reconciler marks the alloc unknown at 30s: it waits until 5m30s.
	hs.store.mu.Lock()
	hs.store.allocs["n1"][0] = alloc("a2", "n1", "b", "run", "unknown", unknownAt(epoch.Add(30*time.Second)))
	hs.store.mu.Unlock()
	hs.clk.Advance(20 * time.Second) // t=40s: still waiting
	must.Len(t, 1, hs.store.cmds())
	must.Eq(t, structs.NodeStatusDisconnected, hs.store.status("n1"))
	dl, _ = hs.h.Tracker().Deadline("n1")
	must.Eq(t, epoch.Add(60*time.Second), dl) // min(next TTL, 5m30s)

	hs.clk.Set(epoch.Add(5*time.Minute + 30*time.Second))
	cmds = hs.store.cmds()
	must.Len(t, 2, cmds)
	must.Eq(t, structs.NodeStatusDown, cmds[1].Status) // equal timestamp: expired
	must.False(t, hs.h.Tracker().Contains("n1"))
}

func TestHeartbeater_ConcurrentResets(t *testing.T) {
	hs := newHarness(t, nil)
	hs.h.SetLeader(true)
	const workers, per = 64, 40
	var wg sync.WaitGroup
	last := make([][]time.Duration, workers)
	for w := range workers {
		last[w] = make([]time.Duration, per)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 {
				for i := range per {
					ttl, err := hs.h.ResetHeartbeatTimer(fmt.Sprintf("w%d-%d", w, i))
					if err != nil || ttl < 10*time.Second {
						panic(fmt.Sprint(round, err, ttl))
					}
					last[w][i] = ttl
				}
			}
		}()
	}
	wg.Wait()
	must.Eq(t, workers*per, hs.h.Tracker().Len())
	for w := range workers {
		for i := range per {
			dl, ok := hs.h.Tracker().Deadline(fmt.Sprintf("w%d-%d", w, i))
			must.True(t, ok)
			must.Eq(t, epoch.Add(last[w][i]+DefaultHeartbeatGrace), dl)
		}
	}
}
