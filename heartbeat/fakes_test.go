package heartbeat

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	memdb "github.com/hashicorp/go-memdb"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

// fakeStore is a minimal in-memory StateReader and Writer.
type fakeStore struct {
	mu       sync.Mutex // protects every field below
	nodes    map[string]*structs.Node
	allocs   map[string][]*structs.Allocation // by node
	jobs     map[structs.NamespacedID]*structs.Job
	commands []*structs.NodeUpdateStatusRequest
	// onNodeRead runs (outside mu) on every NodeByID call.
	onNodeRead func(id string)
	// beforeApply runs under mu before a command is applied.
	beforeApply func(r *structs.NodeUpdateStatusRequest)
}

func newFakeStore() *fakeStore {
	return &fakeStore{nodes: map[string]*structs.Node{}, allocs: map[string][]*structs.Allocation{},
		jobs: map[structs.NamespacedID]*structs.Job{}}
}

func (s *fakeStore) NodeByID(_ memdb.WatchSet, id string) (*structs.Node, error) {
	if f := s.onNodeRead; f != nil {
		f(id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[id], nil
}

func (s *fakeStore) AllocsByNode(_ memdb.WatchSet, id string) ([]*structs.Allocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.allocs[id], nil
}

func (s *fakeStore) JobByID(_ memdb.WatchSet, ns, id string) (*structs.Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jobs[structs.NamespacedID{Namespace: ns, ID: id}], nil
}

func (s *fakeStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := req.(*structs.NodeUpdateStatusRequest)
	if t != structs.NodeUpdateStatusRequestType || !ok {
		return 0, nil, fmt.Errorf("unexpected command %v: %w", t, structs.ErrUnknownCommand)
	}
	if s.beforeApply != nil {
		s.beforeApply(r)
	}
	n := s.nodes[r.NodeID]
	if n == nil {
		return 0, nil, fmt.Errorf("node %q: %w", r.NodeID, structs.ErrUnknownNode)
	}
	if err := structs.ValidateNodeTransition(n.Status, r.Status); err != nil {
		return 0, nil, err
	}
	c := n.Copy()
	c.Status = r.Status
	s.nodes[r.NodeID] = c
	s.commands = append(s.commands, r)
	return uint64(len(s.commands)), nil, nil
}

func (s *fakeStore) addNode(id, dc, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes[id] = &structs.Node{ID: id, Datacenter: dc, Status: status}
}

func (s *fakeStore) status(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.nodes[id]; n != nil {
		return n.Status
	}
	return ""
}

func (s *fakeStore) cmds() []*structs.NodeUpdateStatusRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// recMetrics records counters and gauges.
type recMetrics struct {
	mu       sync.Mutex // protects counters and gauges
	counters map[string]int
	gauges   map[string]float64
}

func (m *recMetrics) IncrCounter(name string, v int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.counters[name] += v
}

func (m *recMetrics) SetGauge(name string, v float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gauges[name] = v
}

func (m *recMetrics) counter(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counters[name]
}

type harness struct {
	h       *Heartbeater
	clk     *fakeClock
	store   *fakeStore
	metrics *recMetrics
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	clk := newFakeClock(epoch)
	store := newFakeStore()
	m := &recMetrics{counters: map[string]int{}, gauges: map[string]float64{}}
	cfg := Config{Clock: clk, Rand: rand.New(rand.NewPCG(1, 2)), Metrics: m}
	if mod != nil {
		mod(&cfg)
	}
	h, err := New(cfg, store, store)
	must.NoError(t, err)
	t.Cleanup(h.Stop)
	return &harness{h: h, clk: clk, store: store, metrics: m}
}

// fixedRand returns u for every Float64 and counts for Uint64.
type fixedRand struct {
	mu sync.Mutex // protects n
	u  float64
	n  uint64
}

func (r *fixedRand) Float64() float64 { return r.u }
func (r *fixedRand) Uint64() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	return r.n
}

func job(id string, lostAfter time.Duration) *structs.Job {
	tg := &structs.TaskGroup{Name: "web", Count: 1}
	if lostAfter > 0 {
		tg.Disconnect = &structs.DisconnectStrategy{LostAfter: lostAfter}
	}
	return &structs.Job{ID: id, Namespace: structs.DefaultNamespace, Type: structs.JobTypeService,
		Priority: 70, TaskGroups: []*structs.TaskGroup{tg}}
}

func alloc(id, nodeID, jobID, desired, client string, states ...*structs.AllocState) *structs.Allocation {
	return &structs.Allocation{ID: id, NodeID: nodeID, JobID: jobID, Namespace: structs.DefaultNamespace,
		TaskGroup: "web", DesiredStatus: desired, ClientStatus: client, AllocStates: states}
}

func unknownAt(t time.Time) *structs.AllocState {
	return &structs.AllocState{Field: structs.AllocStateFieldClientStatus, Value: structs.AllocClientStatusUnknown, Time: t}
}
