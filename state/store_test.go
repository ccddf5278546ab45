package state

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestSnapshot_IsolatedFromLaterWrites(t *testing.T) {
	s := seeded(t)
	snap := s.Snapshot()
	latest := snap.LatestIndex()
	disconnectA1(t, s)
	apply(t, s, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"n2"}})

	must.Eq(t, latest, snap.LatestIndex())
	must.Less(t, s.LatestIndex(), snap.LatestIndex())
	a, err := snap.AllocByID(nil, "a1")
	must.NoError(t, err)
	must.Eq(t, structs.AllocClientStatusRunning, a.ClientStatus)
	n, err := snap.NodeByID(nil, "n2")
	must.NoError(t, err)
	must.NotNil(t, n)
	ev, err := snap.EvalByID(nil, "fu")
	must.NoError(t, err)
	must.Nil(t, ev)
	must.Less(t, s.Index(TableAllocs), snap.Index(TableAllocs))
}

func TestStore_ReturnedObjectsNotMutatedByWrites(t *testing.T) {
	s := seeded(t)
	a := alloc(t, s, "a1")
	aCopy := a.Copy()
	n := node(t, s, "n1")
	nCopy := n.Copy()
	ev := eval(t, s, "eval0")
	evCopy := ev.Copy()
	disconnectA1(t, s)
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "running",
		TaskStates: map[string]*structs.TaskState{"app": {State: "dead"}}})
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{EvalID: "eval0", Now: t0,
		AllocsReconnected: []string{"a1"}, AllocsStopped: []*structs.AllocStopUpdate{{AllocID: "a1", ClientStatus: "lost"}}})
	apply(t, s, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n1", Status: "down"})

	must.Eq(t, aCopy, a)
	must.Eq(t, nCopy, n)
	must.Eq(t, evCopy, ev)
	must.SliceLen(t, 3, alloc(t, s, "a1").AllocStates)
}

func TestStore_Reads(t *testing.T) {
	s := seeded(t)
	nodes, err := s.Nodes(nil)
	must.NoError(t, err)
	must.Eq(t, []string{"n1", "n2", "n3"}, []string{nodes[0].ID, nodes[1].ID, nodes[2].ID})
	// Node IDs are free-form: "n1" must not match "n10"'s allocs.
	registerNode(t, s, "n10", structs.NodeStatusReady)
	place(t, s, mockAlloc("b1", "n10"))
	byNode, err := s.AllocsByNode(nil, "n1")
	must.NoError(t, err)
	must.Eq(t, []string{"a1", "a2"}, []string{byNode[0].ID, byNode[1].ID})
	must.SliceLen(t, 2, byNode)
	none, err := s.AllocsByNode(nil, "n")
	must.NoError(t, err)
	must.SliceEmpty(t, none)
	missing, err := s.AllocByID(nil, "nope")
	must.NoError(t, err)
	must.Nil(t, missing)
	missingNode, err := s.NodeBySecretID(nil, "")
	must.NoError(t, err)
	must.Nil(t, missingNode)
	it, err := s.Allocs(nil)
	must.NoError(t, err)
	var ids []string
	for raw := it.Next(); raw != nil; raw = it.Next() {
		ids = append(ids, raw.(*structs.Allocation).ID)
	}
	must.Eq(t, []string{"a1", "a2", "a3", "a4", "b1"}, ids)
	must.Eq(t, 0, s.Index("nope"))
}

func TestStore_SinkSeesCommandsInOrder(t *testing.T) {
	s := testStore(t)
	var got []uint64
	var types []structs.MessageType
	s.SetCommandSink(func(index uint64, typ structs.MessageType, payload []byte) {
		got = append(got, index)
		types = append(types, typ)
		_, err := structs.DecodeCommand(typ, payload)
		must.NoError(t, err)
	})
	registerNode(t, s, "n1", "ready")
	_, _, err := s.ApplyCommand(structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"nope"}})
	must.Error(t, err) // a failed command is not recorded
	_, err = s.Apply(10, structs.EvalUpdateRequestType, encode(t, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{mockEval("e", "x")}}))
	must.NoError(t, err)
	must.Eq(t, []uint64{1, 10}, got)
	must.Eq(t, []structs.MessageType{structs.NodeRegisterRequestType, structs.EvalUpdateRequestType}, types)
}

// TestStore_ReplayReproducesState: a recorded command log applied to a
// fresh store yields the same state.
func TestStore_ReplayReproducesState(t *testing.T) {
	type entry struct {
		index   uint64
		typ     structs.MessageType
		payload []byte
	}
	var log []entry
	s := testStore(t)
	s.SetCommandSink(func(i uint64, typ structs.MessageType, p []byte) { log = append(log, entry{i, typ, p}) })
	registerNode(t, s, "n1", structs.NodeStatusReady)
	registerNode(t, s, "n2", structs.NodeStatusReady)
	apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job1")})
	place(t, s, mockAlloc("a1", "n1"), mockAlloc("a2", "n2"))
	disconnectA1(t, s)
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "running"})

	r := testStore(t)
	for _, e := range log {
		_, err := r.Apply(e.index, e.typ, e.payload)
		must.NoError(t, err)
	}
	must.Eq(t, dump(t, s), dump(t, r))
}

func TestBlockingQuery_WakesOnWrite(t *testing.T) {
	s := seeded(t)
	minIndex := s.LatestIndex()
	ran := make(chan struct{}, 10)
	type result struct {
		idx uint64
		err error
	}
	done := make(chan result, 1)
	go func() {
		idx, err := s.BlockingQuery(context.Background(), minIndex, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
			_, err := snap.AllocsByNode(ws, "n1")
			ran <- struct{}{}
			return snap.Index(TableAllocs), err
		})
		done <- result{idx, err}
	}()
	<-ran // the first run saw nothing new and now waits
	must.Eq(t, 0, len(done))
	idx, _ := clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "failed"})
	r := <-done
	must.NoError(t, r.err)
	must.Eq(t, idx, r.idx)
}

func TestBlockingQuery_ReturnsAtOnceWhenAhead(t *testing.T) {
	s := seeded(t)
	calls := 0
	idx, err := s.BlockingQuery(context.Background(), 1, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
		calls++
		return snap.Index(TableAllocs), nil
	})
	must.NoError(t, err)
	must.Eq(t, s.Index(TableAllocs), idx)
	must.Eq(t, 1, calls)
}

func TestBlockingQuery_CtxEndReturnsLastResult(t *testing.T) {
	s := seeded(t)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 10)
	type result struct {
		idx uint64
		err error
	}
	done := make(chan result, 1)
	want := s.Index(TableNodes)
	go func() {
		idx, err := s.BlockingQuery(ctx, s.LatestIndex()+100, func(ws memdb.WatchSet, snap *Snapshot) (uint64, error) {
			_, err := snap.NodeByID(ws, "n1")
			ran <- struct{}{}
			return snap.Index(TableNodes), err
		})
		done <- result{idx, err}
	}()
	<-ran
	cancel()
	r := <-done
	must.NoError(t, r.err)
	must.Eq(t, want, r.idx)
}

func TestBlockingQuery_UnwatchedQueryWakesOnAnyWrite(t *testing.T) {
	s := seeded(t)
	minIndex := s.LatestIndex()
	ran := make(chan struct{}, 10)
	done := make(chan uint64, 1)
	go func() {
		idx, _ := s.BlockingQuery(context.Background(), minIndex, func(_ memdb.WatchSet, snap *Snapshot) (uint64, error) {
			ran <- struct{}{}
			return snap.LatestIndex(), nil
		})
		done <- idx
	}()
	<-ran
	idx, _ := apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{mockEval("e", "x")}})
	must.Eq(t, idx, <-done)
}

func TestBlockingQuery_ErrorReturnsAtOnce(t *testing.T) {
	s := seeded(t)
	_, err := s.BlockingQuery(context.Background(), 1000, func(memdb.WatchSet, *Snapshot) (uint64, error) {
		return 0, structs.ErrUnknownNode
	})
	must.ErrorIs(t, err, structs.ErrUnknownNode)
}

// TestStore_ConcurrentReadersAndWriters runs writers and snapshot readers at
// once (for -race); each snapshot must be internally consistent and indexes
// distinct and increasing.
func TestStore_ConcurrentReadersAndWriters(t *testing.T) {
	s := seeded(t)
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	indexes := make(chan uint64, writers*perWriter)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWriter; i++ {
				status := []string{"running", "pending"}[i%2]
				idx, _, err := s.ApplyCommand(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
					NodeID: "n1", Alloc: []*structs.Allocation{{ID: "a1", ClientStatus: status}, {ID: "a2", ClientStatus: status}}})
				if err != nil {
					t.Error(err)
					return
				}
				indexes <- idx
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := s.Snapshot()
				allocs, err := snap.AllocsByNode(nil, "n1")
				if err != nil {
					t.Error(err)
					return
				}
				// Both allocs are written by one command: a snapshot sees
				// them at the same index.
				if allocs[0].ModifyIndex != allocs[1].ModifyIndex || snap.Index(TableAllocs) != allocs[0].ModifyIndex {
					t.Errorf("torn snapshot: %d %d %d", allocs[0].ModifyIndex, allocs[1].ModifyIndex, snap.Index(TableAllocs))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(indexes)
	seen := map[uint64]bool{}
	for idx := range indexes {
		must.False(t, seen[idx])
		seen[idx] = true
	}
	must.MapLen(t, writers*perWriter, seen)
	must.Eq(t, s.LatestIndex(), alloc(t, s, "a1").ModifyIndex)
}

func fired(ws memdb.WatchSet) bool {
	for ch := range ws {
		select {
		case <-ch:
			return true
		default:
		}
	}
	return false
}

// TestAllocReads_WatchOnlyWhatChanged: a client update wakes watchers of its
// node and job, not of another node's allocs.
func TestAllocReads_WatchOnlyWhatChanged(t *testing.T) {
	s := seeded(t)
	byNode, byJob, other, byEval, terminal := memdb.NewWatchSet(), memdb.NewWatchSet(), memdb.NewWatchSet(), memdb.NewWatchSet(), memdb.NewWatchSet()
	_, err := s.AllocsByNode(byNode, "n1")
	must.NoError(t, err)
	_, err = s.AllocsByJob(byJob, "", "job1")
	must.NoError(t, err)
	_, err = s.AllocsByNodeTerminal(other, "n2", false)
	must.NoError(t, err)
	_, err = s.AllocsByEval(byEval, "eval0")
	must.NoError(t, err)
	_, err = s.AllocsByNodeTerminal(terminal, "n1", true)
	must.NoError(t, err)

	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "pending"})
	must.True(t, fired(byNode))
	must.True(t, fired(byJob))
	must.True(t, fired(byEval))
	must.True(t, fired(terminal)) // watches are per node, not per half
	must.False(t, fired(other))

	// Becoming terminal moves the alloc between the node index's halves.
	ws := memdb.NewWatchSet()
	_, err = s.AllocsByNodeTerminal(ws, "n1", true)
	must.NoError(t, err)
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "complete"})
	must.True(t, fired(ws))
	term, err := s.AllocsByNodeTerminal(nil, "n1", true)
	must.NoError(t, err)
	must.SliceLen(t, 1, term)
	live, err := s.AllocsByNodeTerminal(nil, "n1", false)
	must.NoError(t, err)
	must.SliceLen(t, 1, live)
	must.Eq(t, "a2", live[0].ID)
}

func TestStateHash(t *testing.T) {
	var log [][]byte
	var types []structs.MessageType
	s := testStore(t)
	empty, err := s.StateHash()
	must.NoError(t, err)
	s.SetCommandSink(func(_ uint64, typ structs.MessageType, p []byte) {
		log = append(log, p)
		types = append(types, typ)
	})
	registerNode(t, s, "n1", structs.NodeStatusReady)
	apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job1")})
	place(t, s, mockAlloc("a1", "n1"))
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "running",
		TaskStates: map[string]*structs.TaskState{"app": {StartedAt: t0.In(time.FixedZone("x", 7200))}}})
	live, err := s.StateHash()
	must.NoError(t, err)
	must.NotEq(t, empty, live)

	r := testStore(t)
	for i, p := range log {
		_, err := r.Apply(uint64(i+1), types[i], p)
		must.NoError(t, err)
	}
	replayed, err := r.StateHash()
	must.NoError(t, err)
	must.Eq(t, live, replayed)

	snap := r.Snapshot()
	clientUpdate(t, r, "n1", &structs.Allocation{ID: "a1", ClientStatus: "failed"})
	changed, err := r.StateHash()
	must.NoError(t, err)
	must.NotEq(t, live, changed)
	old, err := snap.StateHash()
	must.NoError(t, err)
	must.Eq(t, live, old)
}

// TestAllocsByEval_ThroughTheJobOrAScan: allocs by evaluation are read
// through the evaluation's job, keeping only that evaluation's allocs; for
// an evaluation the store does not hold, every alloc is scanned.
func TestAllocsByEval_ThroughTheJobOrAScan(t *testing.T) {
	s := seeded(t)
	other := mockAlloc("b1", "n2")
	other.EvalID = "eval-not-stored"
	place(t, s, other)

	got, err := s.AllocsByEval(nil, "eval0")
	must.NoError(t, err)
	must.Eq(t, []string{"a1", "a2", "a3", "a4"}, allocIDs(got))

	got, err = s.AllocsByEval(nil, "eval-not-stored")
	must.NoError(t, err)
	must.Eq(t, []string{"b1"}, allocIDs(got))

	got, err = s.AllocsByEval(nil, "no-such-eval")
	must.NoError(t, err)
	must.SliceEmpty(t, got)
}

func allocIDs(allocs []*structs.Allocation) []string {
	ids := make([]string, len(allocs))
	for i, a := range allocs {
		ids[i] = a.ID
	}
	return ids
}
