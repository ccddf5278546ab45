package rejoin_test

import (
	"fmt"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/structs"
)

// client is a node's side of the protocol, in process.
type client struct {
	srv    *rejoin.Server
	id     string
	secret string
}

func (c client) register() {
	var resp structs.NodeUpdateResponse
	node := &structs.Node{ID: c.id, SecretID: c.secret, Datacenter: "dc1", SchedulingEligibility: structs.NodeSchedulingEligible}
	if err := c.srv.Endpoints().Register(&structs.NodeRegisterRequest{Node: node}, &resp); err != nil {
		panic(err)
	}
	c.heartbeat()
}

func (c client) heartbeat() {
	var resp structs.NodeUpdateResponse
	req := &structs.NodeUpdateStatusRequest{NodeID: c.id, SecretID: c.secret, Status: structs.NodeStatusReady}
	if err := c.srv.Endpoints().UpdateStatus(req, &resp); err != nil {
		panic(err)
	}
}

// reportRunning pulls the node's allocations and reports each running.
func (c client) reportRunning() {
	var list structs.NodeClientAllocsResponse
	if err := c.srv.Endpoints().GetClientAllocs(&structs.NodeSpecificRequest{NodeID: c.id, SecretID: c.secret}, &list); err != nil {
		panic(err)
	}
	var update []*structs.Allocation
	for id := range list.Allocs {
		a, _ := c.srv.Store().AllocByID(nil, id)
		if a != nil && a.DesiredStatus == structs.AllocDesiredStatusRun {
			update = append(update, &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusRunning})
		}
	}
	if len(update) == 0 {
		return
	}
	var resp structs.AllocUpdateResponse
	if err := c.srv.Endpoints().UpdateAlloc(&structs.AllocUpdateRequest{NodeID: c.id, SecretID: c.secret, Alloc: update}, &resp); err != nil {
		panic(err)
	}
}

// webJob keeps one allocation running; when its node is cut off it is
// replaced at once and may come back within five minutes.
func webJob() *structs.Job {
	return &structs.Job{ID: "web", Type: structs.JobTypeService, Priority: 50, TaskGroups: []*structs.TaskGroup{{
		Name: "web", Count: 1,
		Disconnect: &structs.DisconnectStrategy{LostAfter: 5 * time.Minute, Reconcile: structs.ReconcileOptionKeepOriginal},
	}}}
}

// counter returns deterministic IDs: a-01, a-02, ...
func counter() func() string {
	var mu sync.Mutex
	n := 0
	return func() string {
		mu.Lock()
		defer mu.Unlock()
		n++
		return fmt.Sprintf("a-%02d", n)
	}
}

// A scheduler links the server in, feeds it its clients' calls and reads
// every decision from the hook. Here one node is cut off past its
// heartbeat TTL and comes back: its allocation is replaced while it is
// away, then reconnects, and the replacement is stopped.
func Example() {
	clk := newManualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var mu sync.Mutex
	var decisions []rejoin.Decision
	srv, err := rejoin.New(
		rejoin.WithClock(clk),
		rejoin.WithIDGenerator(counter()),
		rejoin.WithAllocBatchWindow(-1), // write client updates at once
		rejoin.WithHeartbeatConfig(heartbeat.Config{MinHeartbeatTTL: 10 * time.Second, HeartbeatGrace: 5 * time.Second}),
		rejoin.WithDecisionHook(func(d rejoin.Decision) {
			mu.Lock()
			decisions = append(decisions, d)
			mu.Unlock()
		}),
	)
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Stop()

	// settle waits for the worker and prints what it decided.
	settle := func(what string) {
		if _, err := srv.ProcessEvals(); err != nil {
			panic(err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(decisions) == 0 {
			return
		}
		fmt.Println(what)
		for _, d := range decisions {
			switch d.Kind {
			case rejoin.KindPlace:
				fmt.Printf("  place %s on %s (replaces %q)\n", d.AllocID, d.NodeID, d.PreviousAllocation)
			case rejoin.KindFollowUp:
				fmt.Printf("  follow-up for %s in %s\n", d.AllocID, d.WaitUntil.Sub(d.Time))
			default:
				fmt.Printf("  %s %s\n", d.Kind, d.AllocID)
			}
		}
		decisions = nil
	}

	n1 := client{srv, "n1", "secret-1"}
	n2 := client{srv, "n2", "secret-2"}
	n1.register()
	n2.register()
	if _, err := srv.RegisterJob(webJob()); err != nil {
		panic(err)
	}
	settle("job registered:")
	n1.reportRunning()

	// n1 goes silent; n2 keeps heartbeating.
	for range 12 {
		clk.Advance(5 * time.Second)
		n2.heartbeat()
		settle("n1 missed its heartbeat:")
	}
	n2.reportRunning()

	// n1 is back: heartbeat first, then report what runs.
	n1.heartbeat()
	n1.reportRunning()
	settle("n1 back:")

	a, _ := srv.Store().AllocByID(nil, "a-02")
	for _, s := range a.AllocStates {
		fmt.Println("a-02", s.Value)
	}
	// Output:
	// job registered:
	//   place a-02 on n1 (replaces "")
	// n1 missed its heartbeat:
	//   place a-04 on n2 (replaces "a-02")
	//   disconnect a-02
	//   follow-up for a-02 in 5m0s
	// n1 back:
	//   stop a-04
	//   reconnect a-02
	// a-02 unknown
	// a-02 running
}
