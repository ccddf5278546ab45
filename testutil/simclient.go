package testutil

import (
	"errors"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/structs"
)

// Client behaviour knobs (simulated time).
const (
	rpcTimeout       = 5 * time.Second
	taskName         = "task"
	clientStopDesc   = "stopped by the server"
	clientCutoffDesc = "stopped after the client was cut off (stop_on_client_after)"
)

// localAlloc is what a client knows of an allocation it runs.
type localAlloc struct {
	id, jobID, group string
	batch            bool
	status, desc     string
	task             structs.TaskState
	stopAfter        time.Duration // stop_on_client_after; 0 = none
	desiredStop      bool
	version          uint64 // bumps on every local change
	sentVersion      uint64 // version the server acknowledged
}

func (a *localAlloc) dirty() bool { return a.version != a.sentVersion }

func (a *localAlloc) set(status, desc string, now time.Time) {
	if a.status == status {
		return
	}
	a.status, a.desc = status, desc
	switch status {
	case structs.AllocClientStatusRunning:
		a.task.State, a.task.StartedAt = "running", now
	case structs.AllocClientStatusFailed:
		a.task.State, a.task.Failed, a.task.FinishedAt = "dead", true, now
	case structs.AllocClientStatusComplete:
		a.task.State, a.task.FinishedAt = "dead", now
	}
	a.version++
}

// SimClient is a simulated client node. It registers, heartbeats at its TTL
// with jitter, reads its allocs after each heartbeat, runs them (pending ->
// running, sometimes failed or complete), reports them with UpdateAlloc at
// its own moments, retries a rejected report after its next heartbeat,
// stops its own allocs when cut off longer than stop_on_client_after, stops
// what the server stops, and can crash and restart with or without its
// local state. All its randomness comes from its own seeded source, and it
// runs only inside the simulation's goroutine.
type SimClient struct {
	ID, Secret string
	sim        *Sim
	rng        *rand.Rand
	// api is how the client's calls reach the server once the simulated
	// network delivers them: the rpc.Node itself, or a TCP rpc.Client.
	api rpc.NodeAPI

	up  bool
	gen uint64 // incarnation: callbacks of an older one do nothing

	allocs      map[string]*localAlloc
	ttl         time.Duration
	lastContact time.Time
	failedBeats int
	registered  bool
	// pulledAt is the store's alloc index at the last pull of allocs; the
	// next heartbeat pulls again only if allocs changed since (the
	// non-blocking stand-in for a blocking query on that index).
	pulledAt uint64

	reportArmed    bool // a report is scheduled
	retryAfterBeat bool // a report was refused: send again after the next heartbeat

	// Chaos lets the client fail and complete allocs on its own; the
	// harness turns it off for quiescence.
	Chaos bool
}

// Up reports whether the client process is running.
func (c *SimClient) Up() bool { return c.up }

// after runs f in d unless the client crashed or restarted meanwhile.
func (c *SimClient) after(d time.Duration, f func()) {
	g := c.gen
	c.sim.clk.AfterFunc(d, func() {
		if c.up && c.gen == g {
			f()
		}
	})
}

// call sends one RPC over the simulated network.
func (c *SimClient) call(server func() func(), onTimeout func()) {
	g := c.gen
	alive := func() bool { return c.up && c.gen == g }
	c.sim.net.Call(c.ID, rpcTimeout, func() func() {
		if !c.sim.leader {
			return nil // no leader: the request goes unanswered
		}
		reply := server()
		return func() {
			if alive() {
				reply()
			}
		}
	}, func() {
		if alive() {
			onTimeout()
		}
	})
}

func (c *SimClient) jitter(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(c.rng.Int64N(int64(hi-lo)))
}

// Start boots the client process.
func (c *SimClient) Start() {
	c.up = true
	c.gen++
	c.registered = false
	c.failedBeats = 0
	c.reportArmed = false
	c.retryAfterBeat = false
	c.lastContact = c.sim.clk.Now()
	c.pulledAt = 0
	c.after(c.jitter(0, 2*time.Second), c.register)
}

// Crash stops the client process; its allocs keep their local state (they
// are lost on restart without state).
func (c *SimClient) Crash() {
	c.up = false
	c.gen++
}

// Restart boots the client again, keeping or losing its local state.
func (c *SimClient) Restart(withState bool) {
	if !withState {
		c.allocs = map[string]*localAlloc{}
	}
	c.Start()
}

func (c *SimClient) register() {
	var resp *structs.NodeUpdateResponse
	var err error
	c.call(func() func() {
		resp, err = c.sim.srvRegister(c)
		return func() {
			if err != nil {
				c.after(c.jitter(time.Second, 3*time.Second), c.register)
				return
			}
			c.registered = true
			c.setTTL(resp.HeartbeatTTL)
			c.after(c.jitter(0, 500*time.Millisecond), c.heartbeat)
		}
	}, func() { c.after(c.jitter(time.Second, 3*time.Second), c.register) })
}

func (c *SimClient) setTTL(ttl time.Duration) {
	if ttl <= 0 {
		ttl = heartbeat.DefaultMinHeartbeatTTL
	}
	c.ttl = ttl
}

func (c *SimClient) heartbeat() {
	var resp *structs.NodeUpdateResponse
	var allocs []*serverAlloc
	var changed bool
	var err error
	c.call(func() func() {
		resp, allocs, changed, err = c.sim.srvHeartbeat(c)
		return func() {
			if err != nil {
				c.beatFailed()
				return
			}
			c.beatOK(resp, allocs, changed)
		}
	}, c.beatFailed)
}

func (c *SimClient) beatOK(resp *structs.NodeUpdateResponse, allocs []*serverAlloc, changed bool) {
	now := c.sim.clk.Now()
	reconnected := c.failedBeats > 0
	c.failedBeats = 0
	c.lastContact = now
	c.setTTL(resp.HeartbeatTTL)
	if changed {
		c.sync(allocs, reconnected)
	}
	if c.retryAfterBeat || reconnected {
		c.retryAfterBeat = false
		c.scheduleReport(c.jitter(0, time.Second))
	}
	c.after(time.Duration(float64(c.ttl)*(0.5+0.4*c.rng.Float64())), c.heartbeat)
}

func (c *SimClient) beatFailed() {
	c.failedBeats++
	c.enforceStopAfter()
	c.after(c.jitter(time.Second, 3*time.Second), c.heartbeat)
}

// enforceStopAfter stops allocs of groups with stop_on_client_after once the
// client has been cut off that long.
func (c *SimClient) enforceStopAfter() {
	now := c.sim.clk.Now()
	for _, id := range c.sortedAllocIDs() {
		a := c.allocs[id]
		if a.stopAfter > 0 && !structs.ClientTerminalStatus(a.status) && now.Sub(c.lastContact) >= a.stopAfter {
			a.set(structs.AllocClientStatusComplete, clientCutoffDesc, now)
			c.sim.stats.ClientCutoffStops++
			c.scheduleReport(c.jitter(0, time.Second))
		}
	}
}

// serverAlloc is what a client reads of one of its allocs.
type serverAlloc struct {
	alloc     *structs.Allocation
	batch     bool
	stopAfter time.Duration
}

// sync reconciles local allocs with the server's view.
func (c *SimClient) sync(server []*serverAlloc, reconnected bool) {
	now := c.sim.clk.Now()
	seen := make(map[string]bool, len(server))
	changed := false
	for _, sa := range server {
		a := sa.alloc
		seen[a.ID] = true
		local := c.allocs[a.ID]
		if a.ServerTerminalStatus() {
			if local != nil && !local.desiredStop {
				local.desiredStop = true
				if !structs.ClientTerminalStatus(local.status) {
					local.set(structs.AllocClientStatusComplete, clientStopDesc, now)
					changed = true
				}
			}
			continue
		}
		if local == nil {
			if structs.ClientTerminalStatus(a.ClientStatus) {
				continue // finished before we knew it (or we lost our state)
			}
			local = &localAlloc{id: a.ID, jobID: a.JobID, group: a.TaskGroup, batch: sa.batch,
				stopAfter: sa.stopAfter, status: structs.AllocClientStatusPending, version: 1}
			c.allocs[a.ID] = local
			c.after(c.jitter(500*time.Millisecond, 5*time.Second), func() { c.startAlloc(local) })
			changed = true
			continue
		}
		local.stopAfter = sa.stopAfter
		if reconnected || a.ClientStatus == structs.AllocClientStatusUnknown || a.ClientStatus != local.status {
			// The server's view differs (it marked the alloc unknown while we
			// were cut off, or our last report is still on its way): report.
			if a.ClientStatus != local.status || a.ClientStatus == structs.AllocClientStatusUnknown {
				local.version++
				changed = true
			}
		}
	}
	for _, id := range c.sortedAllocIDs() {
		if !seen[id] {
			delete(c.allocs, id) // garbage collected on the server
		}
	}
	if changed {
		c.scheduleReport(c.jitter(0, 2*time.Second))
	}
}

func (c *SimClient) startAlloc(a *localAlloc) {
	if c.allocs[a.id] != a || a.status != structs.AllocClientStatusPending || a.desiredStop {
		return
	}
	a.set(structs.AllocClientStatusRunning, "", c.sim.clk.Now())
	c.scheduleReport(c.jitter(0, 2*time.Second))
	if !c.Chaos {
		return
	}
	switch {
	case c.rng.Float64() < c.sim.cfg.AllocFailRate:
		c.after(c.jitter(10*time.Second, 10*time.Minute), func() { c.finishAlloc(a, structs.AllocClientStatusFailed) })
	case a.batch:
		c.after(c.jitter(time.Minute, 20*time.Minute), func() { c.finishAlloc(a, structs.AllocClientStatusComplete) })
	}
}

func (c *SimClient) finishAlloc(a *localAlloc, status string) {
	if !c.Chaos || c.allocs[a.id] != a || a.status != structs.AllocClientStatusRunning {
		return
	}
	a.set(status, "task exited", c.sim.clk.Now())
	c.scheduleReport(c.jitter(0, 2*time.Second))
}

func (c *SimClient) scheduleReport(d time.Duration) {
	if c.reportArmed {
		return
	}
	c.reportArmed = true
	c.after(d, func() {
		c.reportArmed = false
		c.report()
	})
}

// report sends every alloc whose local state the server has not
// acknowledged.
func (c *SimClient) report() {
	var batch []*structs.Allocation
	sent := map[string]uint64{}
	for _, id := range c.sortedAllocIDs() {
		a := c.allocs[id]
		if !a.dirty() {
			continue
		}
		ts := a.task
		batch = append(batch, &structs.Allocation{ID: a.id, ClientStatus: a.status, ClientDescription: a.desc,
			TaskStates: map[string]*structs.TaskState{taskName: &ts}})
		sent[id] = a.version
	}
	if len(batch) == 0 {
		return
	}
	var err error
	c.call(func() func() {
		_, err = c.sim.srvUpdateAlloc(c, batch)
		return func() {
			switch {
			case errors.Is(err, structs.ErrNodeNotReady):
				c.retryAfterBeat = true // heartbeat first, then report again
			case err != nil:
				// A refusal the client cannot fix: the server's view wins
				// and the client learns it from its allocs.
				c.ack(sent)
			default:
				c.ack(sent)
			}
		}
	}, func() { c.scheduleReport(c.jitter(time.Second, 5*time.Second)) })
}

func (c *SimClient) ack(sent map[string]uint64) {
	for id, v := range sent {
		if a := c.allocs[id]; a != nil && a.sentVersion < v {
			a.sentVersion = v
		}
	}
}

func (c *SimClient) sortedAllocIDs() []string {
	ids := make([]string, 0, len(c.allocs))
	for id := range c.allocs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
