package rpc

import (
	"bytes"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const testTTL = 17 * time.Second

// fakeHeartbeats records timer resets and clears.
type fakeHeartbeats struct {
	mu      sync.Mutex // protects resets and clears
	resets  map[string]int
	clears  map[string]int
	err     error
	ttl     time.Duration
	counter atomic.Int64 // resets, lock-free for benchmarks
	noMap   bool         // benchmarks: count only
}

func newFakeHeartbeats() *fakeHeartbeats {
	return &fakeHeartbeats{resets: map[string]int{}, clears: map[string]int{}, ttl: testTTL}
}

func (h *fakeHeartbeats) ResetHeartbeatTimer(id string) (time.Duration, error) {
	h.counter.Add(1)
	if h.noMap {
		return h.ttl, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err != nil {
		return 0, h.err
	}
	h.resets[id]++
	return h.ttl, nil
}

func (h *fakeHeartbeats) ClearHeartbeatTimer(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.clears[id]++
}

func (h *fakeHeartbeats) counts(id string) (resets, clears int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resets[id], h.clears[id]
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex // protects buf
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type fixture struct {
	t     testing.TB
	store *state.Store
	node  *Node
	clock *fakeClock
	hb    *fakeHeartbeats
	logs  *syncBuffer
	ids   atomic.Int64
}

// newFixture returns endpoints over a fresh store. By default alloc updates
// group-commit (applied at once); mod can change the config.
func newFixture(t testing.TB, mod func(*Config)) *fixture {
	t.Helper()
	st, err := state.NewStore(nil)
	must.NoError(t, err)
	f := &fixture{t: t, store: st, clock: newFakeClock(t0), hb: newFakeHeartbeats(), logs: &syncBuffer{}}
	cfg := Config{
		Store:       st,
		Heartbeats:  f.hb,
		Clock:       f.clock,
		Logger:      hclog.New(&hclog.LoggerOptions{Output: f.logs, Level: hclog.Debug}),
		NewID:       func() string { return fmt.Sprintf("eval-%d", f.ids.Add(1)) },
		Jitter:      func(time.Duration) time.Duration { return 0 },
		BatchWindow: -1,
	}
	if mod != nil {
		mod(&cfg)
	}
	f.node, err = NewNode(cfg)
	must.NoError(t, err)
	t.Cleanup(f.node.Close)
	return f
}

func (f *fixture) apply(typ structs.MessageType, req any) uint64 {
	f.t.Helper()
	idx, _, err := f.store.ApplyCommand(typ, req)
	must.NoError(f.t, err)
	return idx
}

func secretOf(nodeID string) string { return "secret-" + nodeID }

func (f *fixture) addNode(id, status string) {
	f.t.Helper()
	f.apply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{
		Node:      &structs.Node{ID: id, SecretID: secretOf(id), Name: id, Datacenter: "dc1", Status: status},
		UpdatedAt: t0.UnixNano()})
}

func (f *fixture) setNodeStatus(id, status string) {
	f.t.Helper()
	f.apply(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: id, Status: status, UpdatedAt: f.clock.Now().UnixNano()})
}

func testJob(id string) *structs.Job {
	return &structs.Job{ID: id, Name: id, Type: structs.JobTypeService, Priority: 70,
		Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 3,
			Disconnect: &structs.DisconnectStrategy{LostAfter: 10 * time.Minute}}}}
}

func (f *fixture) addJob(id string) {
	f.t.Helper()
	f.apply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob(id), UpdatedAt: t0.UnixNano()})
}

func testAlloc(id, jobID, nodeID, clientStatus string) *structs.Allocation {
	return &structs.Allocation{ID: id, Name: jobID + ".web[0]", JobID: jobID, TaskGroup: "web", NodeID: nodeID,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: clientStatus,
		TaskStates: map[string]*structs.TaskState{"app": {State: "running"}}}
}

func (f *fixture) place(allocs ...*structs.Allocation) {
	f.t.Helper()
	f.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: f.clock.Now(), AllocsPlaced: allocs})
}

func (f *fixture) alloc(id string) *structs.Allocation {
	f.t.Helper()
	a, err := f.store.AllocByID(nil, id)
	must.NoError(f.t, err)
	must.NotNil(f.t, a)
	return a
}

func (f *fixture) nodeStatus(id string) string {
	f.t.Helper()
	n, err := f.store.NodeByID(nil, id)
	must.NoError(f.t, err)
	must.NotNil(f.t, n)
	return n.Status
}

func (f *fixture) evalsBy(trigger string) []*structs.Evaluation {
	f.t.Helper()
	evals, err := f.store.Evals(nil)
	must.NoError(f.t, err)
	var out []*structs.Evaluation
	for _, e := range evals {
		if e.TriggeredBy == trigger {
			out = append(out, e)
		}
	}
	return out
}

// storeDump is everything the store holds, for "nothing changed" checks.
type storeDump struct {
	Latest  uint64
	Indexes map[string]uint64
	Nodes   []*structs.Node
	Allocs  []*structs.Allocation
	Jobs    []*structs.Job
	Evals   []*structs.Evaluation
}

func (f *fixture) dump() storeDump {
	f.t.Helper()
	d := storeDump{Latest: f.store.LatestIndex(), Indexes: map[string]uint64{}}
	for _, tbl := range []string{"nodes", "allocs", "jobs", "evals"} {
		d.Indexes[tbl] = f.store.Index(tbl)
	}
	var err error
	d.Nodes, err = f.store.Nodes(nil)
	must.NoError(f.t, err)
	it, err := f.store.Allocs(nil)
	must.NoError(f.t, err)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		d.Allocs = append(d.Allocs, raw.(*structs.Allocation))
	}
	d.Jobs, err = f.store.Jobs(nil)
	must.NoError(f.t, err)
	d.Evals, err = f.store.Evals(nil)
	must.NoError(f.t, err)
	return d
}

// update is a one-alloc client report.
func update(nodeID, secret string, allocs ...*structs.Allocation) *structs.AllocUpdateRequest {
	return &structs.AllocUpdateRequest{NodeID: nodeID, SecretID: secret, Alloc: allocs}
}

func report(id, status string) *structs.Allocation {
	return &structs.Allocation{ID: id, ClientStatus: status, ClientDescription: "client says " + status,
		TaskStates: map[string]*structs.TaskState{"app": {State: status}}}
}

// waitFor yields until cond holds; the condition is set by another
// goroutine this test started, so it becomes true without the clock moving.
func waitFor(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}
