package rpc

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

const benchClients = 100

// benchEnv is a TCP server over a real store with benchClients ready nodes
// (allocsPer allocs each), and one TCP client (own connection) per node.
type benchEnv struct {
	node    *Node
	clients []*Client
}

func newBenchEnv(b *testing.B, window time.Duration, allocsPer, conns int) *benchEnv {
	st, err := state.NewStore(nil)
	must.NoError(b, err)
	hb := newFakeHeartbeats()
	hb.noMap = true
	node, err := NewNode(Config{Store: st, Heartbeats: hb, Clock: clock.System{}, BatchWindow: window,
		MaxBatchAllocs: 1 << 20, Logger: hclog.NewNullLogger()})
	must.NoError(b, err)
	b.Cleanup(node.Close)
	_, _, err = st.ApplyCommand(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob("web")})
	must.NoError(b, err)
	var placed []*structs.Allocation
	for i := range benchClients {
		id := fmt.Sprintf("n%03d", i)
		_, _, err := st.ApplyCommand(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: &structs.Node{
			ID: id, SecretID: secretOf(id), Status: structs.NodeStatusReady}})
		must.NoError(b, err)
		for j := range allocsPer {
			placed = append(placed, testAlloc(fmt.Sprintf("%s-a%d", id, j), "web", id, structs.AllocClientStatusRunning))
		}
	}
	if len(placed) > 0 {
		_, _, err = st.ApplyCommand(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: time.Now(), AllocsPlaced: placed})
		must.NoError(b, err)
	}
	env := &benchEnv{node: node}
	srv := startServer(b, node, func(c *ServerConfig) { c.Logger = hclog.NewNullLogger() })
	// conns connections, shared round-robin by the benchClients callers.
	for i := range benchClients {
		if i < conns {
			env.clients = append(env.clients, newTestClient(b, srv.addr, nil))
		} else {
			env.clients = append(env.clients, env.clients[i%conns])
		}
	}
	return env
}

// run spreads b.N calls over the clients, benchClients in flight at once,
// and returns the elapsed time.
func (e *benchEnv) run(b *testing.B, call func(i int, c *Client) error) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start := time.Now()
	for i, c := range e.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := call(i, c); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return elapsed
}

// BenchmarkTCPHeartbeats: plain heartbeats (ready -> ready: auth, timer
// reset, no write) from 100 concurrent clients over TCP loopback.
// Every client has its own connection (conns=100); sharing a few
// connections among the callers was measured slower (net/rpc serialises a
// connection's writes).
func BenchmarkTCPHeartbeats(b *testing.B) {
	for _, conns := range []int{benchClients} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			env := newBenchEnv(b, -1, 0, conns)
			reqs := make([]*structs.NodeUpdateStatusRequest, benchClients)
			for i := range reqs {
				id := fmt.Sprintf("n%03d", i)
				reqs[i] = &structs.NodeUpdateStatusRequest{NodeID: id, SecretID: secretOf(id), Status: structs.NodeStatusReady}
			}
			b.ReportAllocs()
			elapsed := env.run(b, func(i int, c *Client) error {
				var r structs.NodeUpdateResponse
				return c.UpdateStatus(reqs[i], &r)
			})
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "heartbeats/s")
		})
	}
}

// BenchmarkTCPAllocUpdates: alloc updates from 100 concurrent clients over
// TCP loopback, each call reporting allocs allocs of its node, batched per
// window (50ms: the default; group-commit: the next write takes whatever
// arrived during the previous one).
func BenchmarkTCPAllocUpdates(b *testing.B) {
	for _, w := range []struct {
		name   string
		window time.Duration
	}{{"window=50ms", DefaultBatchWindow}, {"window=group-commit", -1}} {
		for _, per := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/allocs-per-call=%d", w.name, per), func(b *testing.B) {
				env := newBenchEnv(b, w.window, per, benchClients)
				reqs := make([]*structs.AllocUpdateRequest, benchClients)
				for i := range reqs {
					id := fmt.Sprintf("n%03d", i)
					reqs[i] = &structs.AllocUpdateRequest{NodeID: id, SecretID: secretOf(id)}
					for j := range per {
						reqs[i].Alloc = append(reqs[i].Alloc, report(fmt.Sprintf("%s-a%d", id, j), structs.AllocClientStatusRunning))
					}
				}
				b.ReportAllocs()
				elapsed := env.run(b, func(i int, c *Client) error {
					var r structs.AllocUpdateResponse
					if err := c.UpdateAlloc(reqs[i], &r); err != nil {
						return err
					}
					if len(r.Skipped) > 0 {
						return fmt.Errorf("skipped %v", r.Skipped[0])
					}
					return nil
				})
				calls := float64(b.N) / elapsed.Seconds()
				b.ReportMetric(calls, "calls/s")
				b.ReportMetric(calls*float64(per), "allocs/s")
			})
		}
	}
}
