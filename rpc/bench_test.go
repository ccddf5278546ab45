package rpc

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
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
// (allocsPer allocs each), and benchClients TCP clients sharing conns
// connections (none when conns is 0: the caller dials addr itself).
type benchEnv struct {
	node    *Node
	addr    string
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
	srv := startServer(b, node, func(c *ServerConfig) { c.Logger = hclog.NewNullLogger() })
	env := &benchEnv{node: node, addr: srv.addr}
	// conns connections, shared round-robin by the benchClients callers.
	for i := range benchClients * min(conns, 1) {
		if i < conns {
			env.clients = append(env.clients, newTestClient(b, srv.addr, nil))
		} else {
			env.clients = append(env.clients, env.clients[i%conns])
		}
	}
	return env
}

// cpuTime is the CPU time the process has used, GC included: on a machine
// shared with other work it measures cost where wall time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports calls/s and allocs/s (wall time) and allocs/cpu-s
// (process CPU time: server and, in process, clients).
func reportRates(b *testing.B, elapsed, cpu time.Duration, per int) {
	calls := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(calls, "calls/s")
	b.ReportMetric(calls*float64(per), "allocs/s")
	b.ReportMetric(float64(b.N*per)/cpu.Seconds(), "allocs/cpu-s")
}

// run spreads b.N calls over the clients, benchClients in flight at once,
// and returns the elapsed time and the CPU time used meanwhile.
func (e *benchEnv) run(b *testing.B, call func(i int, c *Client) error) (time.Duration, time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
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
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return elapsed, cpu
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
			elapsed, cpu := env.run(b, func(i int, c *Client) error {
				var r structs.NodeUpdateResponse
				return c.UpdateStatus(reqs[i], &r)
			})
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "heartbeats/s")
			b.ReportMetric(float64(b.N)/cpu.Seconds(), "heartbeats/cpu-s")
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
				elapsed, cpu := env.run(b, func(i int, c *Client) error {
					var r structs.AllocUpdateResponse
					if err := c.UpdateAlloc(reqs[i], &r); err != nil {
						return err
					}
					if len(r.Skipped) > 0 {
						return fmt.Errorf("skipped %v", r.Skipped[0])
					}
					return nil
				})
				reportRates(b, elapsed, cpu, per)
			})
		}
	}
}
