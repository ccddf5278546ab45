package testutil

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// fakeState is a hand-made StateReader: whatever the test puts in it.
type fakeState struct {
	nodes  map[string]*structs.Node
	allocs map[string]*structs.Allocation
	jobs   []*structs.Job
}

func newFakeState() *fakeState {
	return &fakeState{nodes: map[string]*structs.Node{}, allocs: map[string]*structs.Allocation{}}
}

func (f *fakeState) AllocByID(_ memdb.WatchSet, id string) (*structs.Allocation, error) {
	return f.allocs[id], nil
}
func (f *fakeState) NodeByID(_ memdb.WatchSet, id string) (*structs.Node, error) {
	return f.nodes[id], nil
}
func (f *fakeState) Nodes(memdb.WatchSet) ([]*structs.Node, error) {
	var out []*structs.Node
	for _, id := range sortedKeys(f.nodes) {
		out = append(out, f.nodes[id])
	}
	return out, nil
}
func (f *fakeState) Jobs(memdb.WatchSet) ([]*structs.Job, error) { return f.jobs, nil }
func (f *fakeState) AllocsByJob(_ memdb.WatchSet, _, jobID string) ([]*structs.Allocation, error) {
	var out []*structs.Allocation
	for _, id := range sortedKeys(f.allocs) {
		if f.allocs[id].JobID == jobID {
			out = append(out, f.allocs[id])
		}
	}
	return out, nil
}

func (f *fakeState) put(a *structs.Allocation) { f.allocs[a.ID] = a.Copy() }

// placed tells the checker about a.
func placed(c *Checker, f *fakeState, index uint64, a *structs.Allocation) {
	f.put(a)
	c.ObserveRequest(index, &structs.ApplyPlanResultsRequest{AllocsPlaced: []*structs.Allocation{a}}, f)
}

func invariants(vs []Violation) []string {
	out := []string{}
	for _, v := range vs {
		out = append(out, v.Invariant)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestChecker_I6_StatesShrinkOrGoBack(t *testing.T) {
	job := Job()
	node := Node()
	t.Run("shrink", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node), Unknown(MockEpoch.Add(time.Minute)))
		placed(c, f, 1, a)
		must.SliceEmpty(t, c.Violations())
		b := a.Copy()
		b.AllocStates = b.AllocStates[:1]
		f.put(b)
		c.ObserveRequest(2, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID}}}, f)
		must.Eq(t, []string{I6StatesAppendOnly}, invariants(c.Violations()))
	})
	t.Run("time goes back", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node))
		placed(c, f, 1, a)
		b := a.Copy()
		b.AllocStates = append(b.AllocStates, &structs.AllocState{Value: "unknown", Time: MockEpoch.Add(-time.Second)})
		f.put(b)
		c.ObserveRequest(2, &structs.ApplyPlanResultsRequest{AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: a.ID}}}, f)
		must.Eq(t, []string{I6StatesAppendOnly}, invariants(c.Violations()))
	})
	t.Run("rewritten", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node))
		placed(c, f, 1, a)
		b := a.Copy()
		b.AllocStates[0].Value = "failed"
		f.put(b)
		c.ObserveRequest(2, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID}}}, f)
		must.Eq(t, []string{I6StatesAppendOnly}, invariants(c.Violations()))
	})
	t.Run("append is fine", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node))
		placed(c, f, 1, a)
		b := a.Copy()
		b.AppendState(structs.AllocStateFieldClientStatus, "unknown", MockEpoch)
		f.put(b)
		c.ObserveRequest(2, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID}}}, f)
		must.SliceEmpty(t, c.Violations())
	})
}

func TestChecker_I7_InvalidNodeTransition(t *testing.T) {
	c, f := NewChecker(), newFakeState()
	n := Node(func(n *structs.Node) { n.Status = structs.NodeStatusInit })
	f.nodes[n.ID] = n.Copy()
	c.ObserveRequest(1, &structs.NodeRegisterRequest{Node: n}, f)
	for i, to := range []string{structs.NodeStatusReady, structs.NodeStatusDisconnected, structs.NodeStatusDown, structs.NodeStatusReady} {
		f.nodes[n.ID].Status = to
		c.ObserveRequest(uint64(i+2), &structs.NodeUpdateStatusRequest{NodeID: n.ID, Status: to}, f)
	}
	must.SliceEmpty(t, c.Violations())
	// ready -> initializing is not on the list.
	f.nodes[n.ID].Status = structs.NodeStatusInit
	c.ObserveRequest(9, &structs.NodeUpdateStatusRequest{NodeID: n.ID, Status: structs.NodeStatusInit}, f)
	must.Eq(t, []string{I7NodeTransitions}, invariants(c.Violations()))
	// A re-register that changes the status is caught too.
	c2, f2 := NewChecker(), newFakeState()
	f2.nodes[n.ID] = n.Copy()
	f2.nodes[n.ID].Status = structs.NodeStatusDown
	c2.ObserveRequest(1, &structs.NodeRegisterRequest{Node: n}, f2)
	f2.nodes[n.ID].Status = structs.NodeStatusReady
	c2.ObserveRequest(2, &structs.NodeRegisterRequest{Node: n}, f2)
	must.Eq(t, []string{I7NodeTransitions}, invariants(c2.Violations()))
}

func TestChecker_I3_I5_HandMade(t *testing.T) {
	job := Job()
	node := Node()
	t.Run("reconnect of an alloc that is not unknown", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node))
		placed(c, f, 1, a)
		b := a.Copy()
		b.AppendState(structs.AllocStateFieldClientStatus, "running", MockEpoch.Add(time.Minute))
		f.put(b)
		c.ObserveRequest(2, &structs.ApplyPlanResultsRequest{AllocsReconnected: []string{a.ID}}, f)
		must.Eq(t, []string{I3ReconnectOnce}, invariants(c.Violations()))
	})
	t.Run("reconnect of an unknown alloc is fine", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node), Unknown(MockEpoch.Add(time.Minute)))
		placed(c, f, 1, a)
		b := a.Copy()
		b.ClientStatus = "running"
		b.AppendState(structs.AllocStateFieldClientStatus, "running", MockEpoch.Add(2*time.Minute))
		f.put(b)
		c.ObserveRequest(2, &structs.ApplyPlanResultsRequest{AllocsReconnected: []string{a.ID}}, f)
		must.SliceEmpty(t, c.Violations())
	})
	t.Run("stopped alloc reconnected", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node), Unknown(MockEpoch.Add(time.Minute)),
			func(a *structs.Allocation) { a.DesiredStatus = structs.AllocDesiredStatusStop })
		placed(c, f, 1, a)
		b := a.Copy()
		b.AppendState(structs.AllocStateFieldClientStatus, "running", MockEpoch.Add(2*time.Minute))
		f.put(b)
		c.ObserveRequest(2, &structs.ApplyPlanResultsRequest{AllocsReconnected: []string{a.ID}}, f)
		must.Eq(t, []string{I5StopWins}, invariants(c.Violations()))
	})
	t.Run("stopped alloc runs again", func(t *testing.T) {
		c, f := NewChecker(), newFakeState()
		a := Alloc(job, OnNode(node), func(a *structs.Allocation) {
			a.DesiredStatus, a.ClientStatus = structs.AllocDesiredStatusStop, structs.AllocClientStatusComplete
		})
		placed(c, f, 1, a)
		b := a.Copy()
		b.ClientStatus = structs.AllocClientStatusRunning
		f.put(b)
		c.ObserveRequest(2, &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{{ID: a.ID}}}, f)
		must.Eq(t, []string{I5StopWins}, invariants(c.Violations()))
	})
}

func TestChecker_Quiescent_HandMade(t *testing.T) {
	job := Job(WithCount(2))
	ready := Node()
	f := newFakeState()
	f.nodes[ready.ID] = ready
	f.jobs = []*structs.Job{job}
	a0 := Alloc(job, OnNode(ready), WithIndex(0))
	a1 := Alloc(job, OnNode(ready), WithIndex(1))
	f.put(a0)
	f.put(a1)

	c := NewChecker()
	must.NoError(t, c.CheckQuiescent(f))
	must.SliceEmpty(t, c.Violations())

	t.Run("I1 missing", func(t *testing.T) {
		g := *f
		g.allocs = map[string]*structs.Allocation{a0.ID: a0}
		c := NewChecker()
		must.NoError(t, c.CheckQuiescent(&g))
		must.Eq(t, []string{I1CountExact}, invariants(c.Violations()))
	})
	t.Run("I8 duplicate name", func(t *testing.T) {
		g := *f
		dup := Alloc(job, OnNode(ready), WithIndex(1))
		g.allocs = map[string]*structs.Allocation{a0.ID: a0, a1.ID: a1, dup.ID: dup}
		c := NewChecker()
		must.NoError(t, c.CheckQuiescent(&g))
		must.Eq(t, []string{I1CountExact, I8NoDuplicateByName}, invariants(c.Violations()))
	})
	t.Run("I2 unknown on a ready node", func(t *testing.T) {
		g := *f
		u := Alloc(job, OnNode(ready), WithIndex(1), Unknown(MockEpoch.Add(time.Minute)))
		g.allocs = map[string]*structs.Allocation{a0.ID: a0, u.ID: u}
		c := NewChecker()
		must.NoError(t, c.CheckQuiescent(&g))
		must.Eq(t, []string{I2UnknownCleared}, invariants(c.Violations()))
	})
}
