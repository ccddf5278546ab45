package replicated_test

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// client is a simulated node: it heartbeats, pulls its allocs and reports
// each one running (or complete once the server wants it stopped), through
// whichever server it is pointed at.
type client struct {
	node       *structs.Node
	cut        atomic.Bool // partitioned: makes no calls
	registered bool
}

func newClients(n int) []*client {
	out := make([]*client, n)
	for i := range out {
		out[i] = &client{node: testutil.Node(func(nd *structs.Node) {
			nd.ID, nd.Name = testutil.NodeName(i), testutil.NodeName(i)
			nd.SecretID = "secret-" + nd.ID
		})}
	}
	return out
}

// step is one heartbeat and sync. Errors are what a real client sees
// during an election (no leader, leader unreachable); it tries again on
// its next step.
func (c *cluster) step(cl *client, via *server) error {
	c.gate.RLock()
	defer c.gate.RUnlock()
	if via.dead.Load() {
		return errors.New("server dead")
	}
	if !cl.registered {
		var reply structs.NodeUpdateResponse
		n := cl.node.Copy()
		n.Status = ""
		if err := via.api.Register(&structs.NodeRegisterRequest{Node: n}, &reply); err != nil {
			return err
		}
		cl.registered = true
	}
	var hb structs.NodeUpdateResponse
	if err := via.api.UpdateStatus(&structs.NodeUpdateStatusRequest{
		NodeID: cl.node.ID, SecretID: cl.node.SecretID, Status: structs.NodeStatusReady}, &hb); err != nil {
		return err
	}
	var allocs structs.NodeClientAllocsResponse
	if err := via.api.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: cl.node.ID, SecretID: cl.node.SecretID}, &allocs); err != nil {
		return err
	}
	// Read what changed from the same server, once it has what the leader
	// answered (read-your-writes).
	if err := awaitIndex(via.store, allocs.Index); err != nil {
		return err
	}
	var report []*structs.Allocation
	for id := range allocs.Allocs {
		a, err := via.store.AllocByID(nil, id)
		if err != nil || a == nil {
			continue
		}
		switch {
		case a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus != structs.AllocClientStatusRunning &&
			!structs.ClientTerminalStatus(a.ClientStatus):
			report = append(report, &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusRunning})
		case a.DesiredStatus != structs.AllocDesiredStatusRun && !structs.ClientTerminalStatus(a.ClientStatus):
			report = append(report, &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusComplete})
		}
	}
	if len(report) == 0 {
		return nil
	}
	var up structs.AllocUpdateResponse
	return via.api.UpdateAlloc(&structs.AllocUpdateRequest{NodeID: cl.node.ID, SecretID: cl.node.SecretID, Alloc: report}, &up)
}

// round runs one step of every client that is not cut off, concurrently,
// spread over the live servers; onCall, if set, runs after each call with
// the number done so far. It returns how many steps failed.
func (c *cluster) round(clients []*client, onCall func(done int)) int {
	var live []*server
	for _, s := range c.servers {
		if !s.dead.Load() && !s.isolated.Load() {
			live = append(live, s)
		}
	}
	var wg sync.WaitGroup
	var done, failed atomic.Int64
	for i, cl := range clients {
		if cl.cut.Load() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.step(cl, live[i%len(live)]); err != nil {
				failed.Add(1)
			}
			if onCall != nil {
				onCall(int(done.Add(1)))
			}
		}()
	}
	wg.Wait()
	return int(failed.Load())
}
