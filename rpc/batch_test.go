package rpc

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

type callResult struct {
	reply structs.AllocUpdateResponse
	err   error
}

// batchFixture: ready nodes n1..n3, each with alloc a<i> of job web.
func batchFixture(t *testing.T, mod func(*Config)) (*fixture, *commandLog) {
	f := newFixture(t, mod)
	f.addJob("web")
	for _, id := range []string{"1", "2", "3"} {
		f.addNode("n"+id, structs.NodeStatusReady)
		f.place(testAlloc("a"+id, "web", "n"+id, structs.AllocClientStatusPending))
	}
	log := &commandLog{}
	f.store.SetCommandSink(log.record)
	return f, log
}

// commandLog records the commands the store applied.
type commandLog struct {
	mu    sync.Mutex // protects types
	types []structs.MessageType
}

func (l *commandLog) record(_ uint64, t structs.MessageType, _ []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.types = append(l.types, t)
}

func (l *commandLog) count(t structs.MessageType) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, x := range l.types {
		if x == t {
			n++
		}
	}
	return n
}

// goUpdate runs UpdateAlloc in a goroutine.
func goUpdate(f *fixture, req *structs.AllocUpdateRequest) <-chan callResult {
	ch := make(chan callResult, 1)
	go func() {
		var r callResult
		r.err = f.node.UpdateAlloc(req, &r.reply)
		ch <- r
	}()
	return ch
}

// enqueued counts calls joining a batch.
func enqueued(f *fixture) <-chan struct{} {
	ch := make(chan struct{}, 64)
	f.node.batch.onEnqueue = func() { ch <- struct{}{} }
	return ch
}

func TestBatch_CallsInOneWindowAreOneWrite(t *testing.T) {
	f, log := batchFixture(t, func(c *Config) { c.BatchWindow = 50 * time.Millisecond })
	queued := enqueued(f)
	start := f.store.LatestIndex()
	c1 := goUpdate(f, update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)))
	<-queued
	c2 := goUpdate(f, update("n2", secretOf("n2"), report("a2", structs.AllocClientStatusRunning), report("gone", structs.AllocClientStatusRunning)))
	<-queued
	// A bad caller in the same window is refused alone.
	bad := goUpdate(f, update("n3", secretOf("n1"), report("a3", structs.AllocClientStatusRunning)))
	must.ErrorIs(t, (<-bad).err, structs.ErrPermissionDenied)

	f.clock.Advance(49 * time.Millisecond)
	must.Eq(t, start, f.store.LatestIndex()) // window still open
	f.clock.Advance(time.Millisecond)

	r1, r2 := <-c1, <-c2
	must.NoError(t, r1.err)
	must.NoError(t, r2.err)
	must.Eq(t, start+1, f.store.LatestIndex())
	must.Eq(t, start+1, r1.reply.Index)
	must.Eq(t, start+1, r2.reply.Index)
	must.SliceEmpty(t, r1.reply.Skipped)
	must.Eq(t, []*structs.AllocUpdateSkip{{AllocID: "gone", NodeID: "n2", Reason: structs.SkipUnknownAlloc}}, r2.reply.Skipped)
	must.Eq(t, 1, log.count(structs.AllocClientUpdateRequestType))
	must.Eq(t, structs.AllocClientStatusRunning, f.alloc("a1").ClientStatus)
	must.Eq(t, structs.AllocClientStatusRunning, f.alloc("a2").ClientStatus)
	must.Eq(t, structs.AllocClientStatusPending, f.alloc("a3").ClientStatus)
	must.Eq(t, 0, f.node.batch.pendingCalls())
}

func TestBatch_ManualFlushAndMaxAllocs(t *testing.T) {
	f, log := batchFixture(t, func(c *Config) { c.ManualFlush = true; c.MaxBatchAllocs = 3 })
	queued := enqueued(f)
	c1 := goUpdate(f, update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)))
	<-queued
	must.Eq(t, 1, f.node.batch.pendingCalls())
	f.node.FlushAllocUpdates()
	must.NoError(t, (<-c1).err)
	must.Eq(t, 1, log.count(structs.AllocClientUpdateRequestType))

	// Reaching MaxBatchAllocs applies without a flush.
	c2 := goUpdate(f, update("n2", secretOf("n2"), report("a2", structs.AllocClientStatusRunning)))
	<-queued
	c3 := goUpdate(f, update("n3", secretOf("n3"), report("a3", structs.AllocClientStatusRunning), report("a3", structs.AllocClientStatusRunning)))
	<-queued
	r2, r3 := <-c2, <-c3
	must.NoError(t, r2.err)
	must.NoError(t, r3.err)
	must.Eq(t, r2.reply.Index, r3.reply.Index)
	must.Eq(t, 2, log.count(structs.AllocClientUpdateRequestType))
}

// A node whose heartbeat expires between the check and the batched write
// gets ErrNodeNotReady; the other callers of the batch are unaffected.
func TestBatch_NodeNotReadyAtApplyTime(t *testing.T) {
	f, _ := batchFixture(t, func(c *Config) { c.ManualFlush = true })
	queued := enqueued(f)
	c1 := goUpdate(f, update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)))
	<-queued
	c2 := goUpdate(f, update("n2", secretOf("n2"), report("a2", structs.AllocClientStatusRunning)))
	<-queued
	f.setNodeStatus("n1", structs.NodeStatusDisconnected) // heartbeat expiry, not through rpc
	f.node.FlushAllocUpdates()

	r1, r2 := <-c1, <-c2
	must.ErrorIs(t, r1.err, structs.ErrNodeNotReady)
	var nr *NodeNotReadyError
	must.True(t, errors.As(r1.err, &nr))
	must.Eq(t, structs.NodeStatusDisconnected, nr.Status)
	must.NoError(t, r2.err)
	must.Eq(t, structs.AllocClientStatusPending, f.alloc("a1").ClientStatus)
	must.Eq(t, structs.AllocClientStatusRunning, f.alloc("a2").ClientStatus)
}

// poisonStore refuses any alloc update command that carries alloc "poison".
type poisonStore struct{ Store }

func (p poisonStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if u, ok := req.(*structs.AllocUpdateRequest); ok {
		for _, a := range u.Alloc {
			if a.ID == "poison" {
				return 0, nil, errors.New("store refused poison")
			}
		}
	}
	return p.Store.ApplyCommand(t, req)
}

func TestBatch_WholeWriteRefusedIsRetriedPerCaller(t *testing.T) {
	var f *fixture
	f, _ = batchFixture(t, func(c *Config) {
		c.ManualFlush = true
		c.Store = poisonStore{c.Store}
	})
	f.place(testAlloc("poison", "web", "n2", structs.AllocClientStatusPending))
	queued := enqueued(f)
	c1 := goUpdate(f, update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)))
	<-queued
	c2 := goUpdate(f, update("n2", secretOf("n2"), report("poison", structs.AllocClientStatusRunning)))
	<-queued
	f.node.FlushAllocUpdates()
	r1, r2 := <-c1, <-c2
	must.NoError(t, r1.err)
	must.ErrorContains(t, r2.err, "store refused poison")
	must.Eq(t, structs.AllocClientStatusRunning, f.alloc("a1").ClientStatus)
	must.Eq(t, structs.AllocClientStatusPending, f.alloc("poison").ClientStatus)
}

// Calls of one node apply in arrival order: a heartbeat that arrives while
// the node's alloc update waits in a batch runs after that update.
func TestSerialisation_HeartbeatWaitsForPendingAllocUpdate(t *testing.T) {
	f, _ := batchFixture(t, func(c *Config) { c.ManualFlush = true })
	queued := enqueued(f)
	c1 := goUpdate(f, update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)))
	<-queued
	hbDone := make(chan structs.NodeUpdateResponse, 1)
	go func() {
		var r structs.NodeUpdateResponse
		if err := f.node.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"),
			Status: structs.NodeStatusDown}, &r); err != nil {
			t.Error(err)
		}
		hbDone <- r
	}()
	waitFor(func() bool { return f.node.locks.waiting("n1") == 1 })
	// Another node is not held up by n1's queue.
	var r2 structs.NodeUpdateResponse
	must.NoError(t, f.node.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: "n2", SecretID: secretOf("n2"),
		Status: structs.NodeStatusReady}, &r2))
	must.Eq(t, structs.NodeStatusReady, f.nodeStatus("n1"))

	f.node.FlushAllocUpdates()
	r1 := <-c1
	must.NoError(t, r1.err)
	hb := <-hbDone
	must.Greater(t, r1.reply.Index, hb.Index)
	must.Eq(t, structs.AllocClientStatusRunning, f.alloc("a1").ClientStatus)
	must.Eq(t, structs.NodeStatusDown, f.nodeStatus("n1"))
	must.Eq(t, 0, f.node.locks.size())
}

func TestBatch_GroupCommitAndClose(t *testing.T) {
	f, log := batchFixture(t, nil) // BatchWindow -1: group commit
	var r structs.AllocUpdateResponse
	must.NoError(t, f.node.UpdateAlloc(update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)), &r))
	must.Eq(t, f.store.LatestIndex(), r.Index)
	f.node.Close()
	must.NoError(t, f.node.UpdateAlloc(update("n2", secretOf("n2"), report("a2", structs.AllocClientStatusRunning)), &r))
	must.Eq(t, f.store.LatestIndex(), r.Index)
	must.Eq(t, 2, log.count(structs.AllocClientUpdateRequestType))
}
