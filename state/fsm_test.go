package state

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/structs"
)

// memSink is a raft.SnapshotSink into memory.
type memSink struct {
	bytes.Buffer
	closed, canceled bool
	failAfter        int // fail writes once this many bytes were taken (0: never)
}

func (s *memSink) Write(p []byte) (int, error) {
	if s.failAfter > 0 && s.Len()+len(p) > s.failAfter {
		return 0, errors.New("disk full")
	}
	return s.Buffer.Write(p)
}
func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { s.closed = true; return nil }
func (s *memSink) Cancel() error { s.canceled = true; return nil }

func logEntry(t testing.TB, index uint64, typ structs.MessageType, req any) *raft.Log {
	t.Helper()
	data, err := EncodeLogEntry(typ, req)
	must.NoError(t, err)
	return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: data, AppendedAt: t0.Add(time.Duration(index) * time.Second)}
}

func fsmApply(t testing.TB, f *FSM, l *raft.Log) *FSMResponse {
	t.Helper()
	resp, ok := f.Apply(l).(*FSMResponse)
	must.True(t, ok)
	return resp
}

// seedFSM applies, through the FSM at raft-like indexes with gaps (raft's
// no-op and configuration entries never reach the FSM), what seeded()
// applies directly.
func seedFSM(t testing.TB) *FSM {
	t.Helper()
	f := NewFSM(testStore(t), FSMConfig{})
	idx := uint64(3) // 1 and 2 were raft's own entries
	step := func(typ structs.MessageType, req any) *FSMResponse {
		resp := fsmApply(t, f, logEntry(t, idx, typ, req))
		must.NoError(t, resp.Err)
		idx += 2
		return resp
	}
	for _, n := range []*structs.Node{mockNode("n1", structs.NodeStatusReady), mockNode("n2", structs.NodeStatusReady)} {
		step(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n, UpdatedAt: t0.UnixNano()})
	}
	step(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job1")})
	step(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0,
		AllocsPlaced: []*structs.Allocation{mockAlloc("a1", "n1"), mockAlloc("a2", "n2")}})
	return f
}

func TestFSM_ApplyAtLogIndexAndResult(t *testing.T) {
	f := seedFSM(t)
	must.Eq(t, 9, f.Store().LatestIndex())
	must.Eq(t, 9, f.Store().Index(TableAllocs))

	up := &structs.AllocUpdateRequest{NodeID: "n1", UpdatedAt: t0.UnixNano(), Alloc: []*structs.Allocation{
		{ID: "a1", ClientStatus: structs.AllocClientStatusComplete},
		{ID: "gone", ClientStatus: structs.AllocClientStatusRunning},
	}}
	resp := fsmApply(t, f, logEntry(t, 12, structs.AllocClientUpdateRequestType, up))
	must.NoError(t, resp.Err)
	res, ok := resp.Result.(*structs.AllocUpdateResult)
	must.True(t, ok)
	must.Eq(t, []string{"a1"}, res.Applied)
	must.SliceLen(t, 1, res.Skipped)
	must.Eq(t, 12, f.Store().LatestIndex())
	must.Eq(t, structs.AllocClientStatusComplete, alloc(t, f.Store(), "a1").ClientStatus)
}

func TestFSM_ApplyBadEntriesChangeNothing(t *testing.T) {
	f := seedFSM(t)
	before := dump(t, f.Store())
	bad := []struct {
		name string
		log  *raft.Log
		want error
	}{
		{"empty", &raft.Log{Index: 20, Type: raft.LogCommand}, structs.ErrDecode},
		{"garbage payload", &raft.Log{Index: 21, Type: raft.LogCommand,
			Data: append([]byte{byte(structs.NodeRegisterRequestType)}, 0xc1, 0xff, 0x00)}, structs.ErrDecode},
		{"truncated payload", func() *raft.Log {
			l := logEntry(t, 22, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode("n9", "")})
			l.Data = l.Data[:len(l.Data)/2]
			return l
		}(), structs.ErrDecode},
		{"unknown type without ignore flag", &raft.Log{Index: 23, Type: raft.LogCommand, Data: []byte{99, 0x80}}, structs.ErrUnknownCommand},
		{"stale index", logEntry(t, 9, structs.NodeRegisterRequestType,
			&structs.NodeRegisterRequest{Node: mockNode("n9", "")}), structs.ErrStaleIndex},
		{"rejected command", logEntry(t, 24, structs.NodeUpdateStatusRequestType,
			&structs.NodeUpdateStatusRequest{NodeID: "n1", Status: structs.NodeStatusInit}), structs.ErrInvalidTransition},
		{"unknown node", logEntry(t, 25, structs.NodeDeregisterRequestType,
			&structs.NodeDeregisterRequest{NodeIDs: []string{"nope"}}), structs.ErrUnknownNode},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var resp *FSMResponse
			must.NotPanic(t, func() { resp = fsmApply(t, f, tc.log) })
			must.ErrorIs(t, resp.Err, tc.want)
			must.Nil(t, resp.Result)
			must.Eq(t, before, dump(t, f.Store()))
		})
	}
	// After all that, the next good entry applies at its own index.
	resp := fsmApply(t, f, logEntry(t, 30, structs.NodeRegisterRequestType,
		&structs.NodeRegisterRequest{Node: mockNode("n9", ""), UpdatedAt: t0.UnixNano()}))
	must.NoError(t, resp.Err)
	must.Eq(t, 30, f.Store().LatestIndex())
}

func TestFSM_UnknownTypeWithIgnoreFlagIsSkipped(t *testing.T) {
	f := seedFSM(t)
	before := dump(t, f.Store())
	resp := fsmApply(t, f, &raft.Log{Index: 40, Type: raft.LogCommand,
		Data: []byte{byte(structs.IgnoreUnknownTypeFlag | 99), 0x80}})
	must.NoError(t, resp.Err)
	must.Eq(t, 40, f.Store().LatestIndex())
	after := dump(t, f.Store())
	after.Latest, after.Indexes = before.Latest, before.Indexes
	must.Eq(t, before, after) // only the index moved
}

func TestFSM_NonCommandEntriesAreIgnored(t *testing.T) {
	f := seedFSM(t)
	before := dump(t, f.Store())
	resp := fsmApply(t, f, &raft.Log{Index: 50, Type: raft.LogNoop})
	must.NoError(t, resp.Err)
	must.Eq(t, before, dump(t, f.Store()))
}

func TestFSM_SnapshotRestoreRoundTrip(t *testing.T) {
	f := seedFSM(t)
	snap, err := f.Snapshot()
	must.NoError(t, err)
	// Writes after Snapshot do not show in it.
	fsmApply(t, f, logEntry(t, 11, structs.NodeRegisterRequestType,
		&structs.NodeRegisterRequest{Node: mockNode("late", ""), UpdatedAt: t0.UnixNano()}))

	sink := &memSink{}
	must.NoError(t, snap.Persist(sink))
	snap.Release()
	must.True(t, sink.closed)
	must.False(t, sink.canceled)

	// The CreatedAt is the last applied entry's append time: the same on
	// every server.
	_, meta, err := ReadSnapshot(bytes.NewReader(sink.Bytes()), nil)
	must.NoError(t, err)
	must.Eq(t, 9, meta.Index)
	must.Eq(t, t0.Add(9*time.Second), meta.CreatedAt)

	g := NewFSM(testStore(t), FSMConfig{})
	fsmApply(t, g, logEntry(t, 1, structs.NodeRegisterRequestType,
		&structs.NodeRegisterRequest{Node: mockNode("old", ""), UpdatedAt: t0.UnixNano()}))
	must.NoError(t, g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))))
	must.Eq(t, 1, g.Restores())
	want, err := seedFSM(t).Store().StateHash()
	must.NoError(t, err)
	got, err := g.Store().StateHash()
	must.NoError(t, err)
	must.Eq(t, want, got)
	n, err := g.Store().NodeByID(nil, "old")
	must.NoError(t, err)
	must.Nil(t, n) // swapped, not merged
}

func TestFSM_RestoreCorruptChangesNothing(t *testing.T) {
	f := seedFSM(t)
	snap, err := f.Snapshot()
	must.NoError(t, err)
	sink := &memSink{}
	must.NoError(t, snap.Persist(sink))
	good := sink.Bytes()

	g := seedFSM(t)
	fsmApply(t, g, logEntry(t, 11, structs.NodeRegisterRequestType,
		&structs.NodeRegisterRequest{Node: mockNode("n7", ""), UpdatedAt: t0.UnixNano()}))
	before := dump(t, g.Store())
	for name, data := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)-10],
		"flipped": func() []byte {
			b := bytes.Clone(good)
			b[len(b)/2] ^= 0xff
			return b
		}(),
		"garbage": []byte("not a snapshot at all"),
	} {
		t.Run(name, func(t *testing.T) {
			err := g.Restore(io.NopCloser(bytes.NewReader(data)))
			must.Error(t, err)
			must.True(t, errors.Is(err, ErrCorruptSnapshot) || errors.Is(err, structs.ErrDecode), must.Sprint(err))
			must.Eq(t, before, dump(t, g.Store()))
			must.Eq(t, 0, g.Restores())
		})
	}
}

func TestFSM_PersistFailureCancelsSink(t *testing.T) {
	f := seedFSM(t)
	snap, err := f.Snapshot()
	must.NoError(t, err)
	sink := &memSink{failAfter: 64}
	must.Error(t, snap.Persist(sink))
	must.True(t, sink.canceled)
	must.False(t, sink.closed)
}

func TestFSM_SnapshotBeforeAnyCommandUsesClock(t *testing.T) {
	clk := fixedClock{t0}
	f := NewFSM(testStore(t), FSMConfig{Clock: clk})
	snap, err := f.Snapshot()
	must.NoError(t, err)
	sink := &memSink{}
	must.NoError(t, snap.Persist(sink))
	_, meta, err := ReadSnapshot(bytes.NewReader(sink.Bytes()), nil)
	must.NoError(t, err)
	must.Eq(t, t0, meta.CreatedAt)
	must.Eq(t, 0, meta.Index)
}

// fixedClock is a clock.Clock stopped at one time.
type fixedClock struct{ at time.Time }

func (c fixedClock) Now() time.Time { return c.at }
func (c fixedClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	panic("fixedClock: no timers")
}
