package cmdlog

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

const nodes = 50

// baseStore loads n running allocs over ready nodes.
func baseStore(t testing.TB, n int) *state.Store {
	t.Helper()
	var o state.Objects
	for i := range nodes {
		o.Nodes = append(o.Nodes, &structs.Node{ID: fmt.Sprintf("n%02d", i), SecretID: fmt.Sprintf("s%02d", i),
			Datacenter: "dc1", Status: structs.NodeStatusReady, CreateIndex: 1, ModifyIndex: 1})
	}
	o.Jobs = []*structs.Job{{ID: "job1", Namespace: structs.DefaultNamespace, Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: n,
			Disconnect: &structs.DisconnectStrategy{LostAfter: time.Hour}}}, CreateIndex: 2, ModifyIndex: 2}}
	for i := range n {
		o.Allocs = append(o.Allocs, &structs.Allocation{ID: fmt.Sprintf("a%07d", i), Namespace: structs.DefaultNamespace,
			JobID: "job1", TaskGroup: "web", NodeID: fmt.Sprintf("n%02d", i%nodes), EvalID: "e0",
			Name: fmt.Sprintf("job1.web[%d]", i), DesiredStatus: structs.AllocDesiredStatusRun,
			ClientStatus: structs.AllocClientStatusRunning, CreateIndex: 3, ModifyIndex: 3})
	}
	s, err := state.LoadStore(o, 3, nil)
	must.NoError(t, err)
	return s
}

// workload applies k commands of every kind to s: client updates, node
// status changes, disconnects and placements.
func workload(t testing.TB, s *state.Store, clk *testutil.FakeClock, from, k int) {
	t.Helper()
	for i := from; i < from+k; i++ {
		clk.Advance(time.Second)
		now := clk.Now()
		nodeID := fmt.Sprintf("n%02d", i%nodes)
		var typ structs.MessageType
		var req any
		switch i % 4 {
		case 0:
			typ, req = structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: nodeID,
				Alloc:     []*structs.Allocation{{ID: fmt.Sprintf("a%07d", i%nodes), ClientStatus: structs.AllocClientStatusComplete}},
				UpdatedAt: now.UnixNano()}
		case 1:
			typ, req = structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: now,
				AllocsPlaced: []*structs.Allocation{{ID: fmt.Sprintf("p%05d", i), JobID: "job1", TaskGroup: "web", NodeID: nodeID}}}
		case 2:
			typ, req = structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: now,
				AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: fmt.Sprintf("a%07d", i+nodes), FollowupEvalID: fmt.Sprintf("fu%d", i)}},
				Evals: []*structs.Evaluation{{ID: fmt.Sprintf("fu%d", i), JobID: "job1", Status: structs.EvalStatusPending,
					TriggeredBy: structs.EvalTriggerMaxDisconnectTimeout}}}
		case 3:
			typ, req = structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{
				Node: &structs.Node{ID: fmt.Sprintf("new%d", i), Status: structs.NodeStatusReady}, UpdatedAt: now.UnixNano()}
		}
		_, _, err := s.ApplyCommand(typ, req)
		must.NoError(t, err)
	}
}

func hash(t testing.TB, s *state.Store) [32]byte {
	t.Helper()
	h, err := s.StateHash()
	must.NoError(t, err)
	return h
}

// The acceptance round trip: snapshot at index N, more commands into the
// log, then restore + replay gives the live store's state. 100,000 allocs
// (under -race 20,000, -short 10,000: see state.TestSnapshot_RoundTrip100k
// for why).
func TestReplay_SnapshotPlusLog100k(t *testing.T) {
	n := 100_000
	switch {
	case testing.Short():
		n = 10_000
	case raceEnabled:
		n = 20_000
	}
	testSnapshotPlusLog(t, n, false)
}

// The same, bounded by index and by time, on a small store.
func TestReplay_SnapshotPlusLogBounds(t *testing.T) { testSnapshotPlusLog(t, 2_000, true) }

func testSnapshotPlusLog(t *testing.T, n int, bounds bool) {
	live := baseStore(t, n)
	clk := testutil.NewFakeClock(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC))
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentSize: 16 << 10})
	must.NoError(t, err)
	var sinkErr error
	live.SetCommandSink(Sink(l, clk, func(err error) { sinkErr = err }))

	workload(t, live, clk, 0, 40) // in the log and in the snapshot
	var snap bytes.Buffer
	_, err = live.Snapshot().Persist(&snap, clk.Now())
	must.NoError(t, err)
	snapIndex := live.LatestIndex()

	workload(t, live, clk, 40, 40)
	midIndex, midHash, midTime := live.LatestIndex(), hash(t, live), clk.Now()
	workload(t, live, clk, 80, 40)
	must.NoError(t, l.Sync())
	must.NoError(t, sinkErr)

	restore := func() *state.Store {
		s, meta, err := state.ReadSnapshot(bytes.NewReader(snap.Bytes()), nil)
		must.NoError(t, err)
		must.Eq(t, snapIndex, meta.Index)
		return s
	}
	// Whole log.
	s := restore()
	last, err := ReplayInto(s, dir, 0, time.Time{})
	must.NoError(t, err)
	must.Eq(t, live.LatestIndex(), last)
	must.Eq(t, hash(t, live), hash(t, s))
	if !bounds {
		must.NoError(t, l.Close())
		return
	}

	// Up to an index, and up to a time: the live state then.
	s = restore()
	last, err = ReplayInto(s, dir, midIndex, time.Time{})
	must.NoError(t, err)
	must.Eq(t, midIndex, last)
	must.Eq(t, midHash, hash(t, s))
	s = restore()
	last, err = ReplayInto(s, dir, 0, midTime)
	must.NoError(t, err)
	must.Eq(t, midIndex, last)
	must.Eq(t, midHash, hash(t, s))

	// Replaying again is a no-op: every record is at or below the index.
	s = restore()
	_, err = ReplayInto(s, dir, 0, time.Time{})
	must.NoError(t, err)
	_, err = ReplayInto(s, dir, 0, time.Time{})
	must.NoError(t, err)
	must.Eq(t, hash(t, live), hash(t, s))
	must.NoError(t, l.Close())
}

// A command the store refuses stops the replay at it, naming the index.
func TestReplay_BadCommand(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	must.NoError(t, err)
	good, err := structs.Marshal(&structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1"}})
	must.NoError(t, err)
	must.NoError(t, l.Append(Record{Index: 1, Type: structs.NodeRegisterRequestType, Payload: good}))
	must.NoError(t, l.Append(Record{Index: 2, Type: structs.NodeRegisterRequestType, Payload: []byte{0xc1}}))
	must.NoError(t, l.Append(Record{Index: 3, Type: structs.NodeRegisterRequestType, Payload: good}))
	must.NoError(t, l.Close())

	s, err := state.NewStore(nil)
	must.NoError(t, err)
	last, err := ReplayInto(s, dir, 0, time.Time{})
	must.ErrorIs(t, err, structs.ErrDecode)
	must.StrContains(t, err.Error(), "record 2")
	must.Eq(t, 1, last)
}

// A corrupt log stops the replay with ErrCorruptLog.
func TestReplay_CorruptLog(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 5, Options{})
	seg := segFiles(t, dir)[0]
	corruptByte(t, seg, int64(len(segmentMagic))+12) // record 1
	s, err := state.NewStore(nil)
	must.NoError(t, err)
	_, err = ReplayInto(s, dir, 0, time.Time{})
	must.ErrorIs(t, err, ErrCorruptLog)
}

// A log that skips a command stops the replay before the record past the
// gap: the commands after it would build a state no server had.
func TestReplay_GapInLog(t *testing.T) {
	register := func(id string) []byte {
		b, err := structs.Marshal(&structs.NodeRegisterRequest{Node: &structs.Node{ID: id}})
		must.NoError(t, err)
		return b
	}
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	must.NoError(t, err)
	for _, i := range []uint64{1, 2, 3, 5, 6} {
		must.NoError(t, l.Append(Record{Index: i, Type: structs.NodeRegisterRequestType, Payload: register(fmt.Sprintf("n%d", i))}))
	}
	must.NoError(t, l.Close())

	s, err := state.NewStore(nil)
	must.NoError(t, err)
	last, err := ReplayInto(s, dir, 0, time.Time{})
	must.ErrorIs(t, err, ErrLogGap)
	var gap *GapError
	must.True(t, errors.As(err, &gap))
	must.Eq(t, GapError{Latest: 3, Next: 5}, *gap)
	must.StrContains(t, err.Error(), "4..4 are missing")
	must.Eq(t, 3, last)
	n5, err := s.NodeByID(nil, "n5")
	must.NoError(t, err)
	must.Nil(t, n5)

	// The same log does continue a state at index 4 (a snapshot taken
	// there): records up to 4 are skipped and 5, 6 apply.
	var o state.Objects
	for _, id := range []string{"n1", "n2", "n3", "n4"} {
		o.Nodes = append(o.Nodes, &structs.Node{ID: id, Status: structs.NodeStatusInit, CreateIndex: 1, ModifyIndex: 1})
	}
	s, err = state.LoadStore(o, 4, nil)
	must.NoError(t, err)
	last, err = ReplayInto(s, dir, 0, time.Time{})
	must.NoError(t, err)
	must.Eq(t, 6, last)

	// A log that starts past the state's next index is a gap too (a
	// snapshot lost while its log was compacted).
	s, err = state.NewStore(nil)
	must.NoError(t, err)
	dir2 := t.TempDir()
	l, err = Open(dir2, Options{})
	must.NoError(t, err)
	must.NoError(t, l.Append(Record{Index: 7, Type: structs.NodeRegisterRequestType, Payload: register("n7")}))
	must.NoError(t, l.Close())
	_, err = ReplayInto(s, dir2, 0, time.Time{})
	must.ErrorIs(t, err, ErrLogGap)
	must.Eq(t, 0, s.LatestIndex())
}
