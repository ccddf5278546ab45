package state

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestSnapshot_RoundTripCommands(t *testing.T) {
	live := seeded(t)
	disconnectA1(t, live)
	apply(t, live, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: "n2", Status: structs.NodeStatusDown, UpdatedAt: t0.UnixNano()})

	var buf bytes.Buffer
	meta, err := live.Snapshot().Persist(&buf, t0)
	must.NoError(t, err)
	must.Eq(t, SnapshotMeta{FormatVersion: 1, Index: live.LatestIndex(), CreatedAt: t0,
		Counts: map[string]uint64{"nodes": 3, "jobs": 1, "allocs": 4, "evals": 2, "index": 5, "alloc_watch": 4}}, meta)

	got, gotMeta, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), nil)
	must.NoError(t, err)
	must.Eq(t, meta.Counts, gotMeta.Counts)
	must.Eq(t, meta.Index, gotMeta.Index)
	must.True(t, t0.Equal(gotMeta.CreatedAt))
	// Every row of every table, the internal ones included.
	must.Eq(t, dump(t, live), dump(t, got))
	must.Eq(t, hashOf(t, live), hashOf(t, got))
	// The restored store goes on applying commands like the live one.
	for _, s := range []*Store{live, got} {
		apply(t, s, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
			NodeID: "n1", Status: structs.NodeStatusDisconnected, UpdatedAt: t0.UnixNano()})
	}
	must.Eq(t, dump(t, live), dump(t, got))
}

// The acceptance round trip: 100,000 allocs of mixed states. Loading,
// persisting, reading back and hashing 100,000 allocs costs about 4 s
// without the race detector but over a minute with it (memdb's radix trees
// allocate a node and a channel per insert, which -race instruments), so
// under -race it runs 20,000 (-short: 10,000). BenchmarkRestore covers
// 1,000,000.
func TestSnapshot_RoundTrip100k(t *testing.T) {
	n := 100_000
	switch {
	case testing.Short():
		n = 10_000
	case raceEnabled:
		n = 20_000
	}
	live := genStore(t, n)
	file := persist(t, live)
	got, meta, err := ReadSnapshot(bytes.NewReader(file), nil)
	must.NoError(t, err)
	must.Eq(t, uint64(n), meta.Counts["allocs"])
	must.Eq(t, hashOf(t, live), hashOf(t, got))
	// Determinism: the restored store persists to the very same bytes.
	must.True(t, bytes.Equal(file, persist(t, got)))
}

func TestSnapshot_Deterministic(t *testing.T) {
	objs := genObjects(500)
	// Maps with several keys must encode in one order.
	a := objs.Allocs[1]
	a.TaskStates = map[string]*structs.TaskState{"a": {State: "running"}, "b": {State: "dead"},
		"c": {State: "pending"}, "d": {State: "running"}}
	a.Metrics.ScoreMetaData[0].Scores = map[string]float64{"x": 1, "y": 2, "z": 3, "w": 4}
	s, err := LoadStore(objs, 0, nil)
	must.NoError(t, err)
	first := persist(t, s)
	for range 5 {
		must.True(t, bytes.Equal(first, persist(t, s)))
	}
}

func TestSnapshot_Restore(t *testing.T) {
	src := seeded(t)
	disconnectA1(t, src)
	file := persist(t, src)

	dst := genStore(t, 200)
	meta, err := dst.Restore(bytes.NewReader(file))
	must.NoError(t, err)
	must.Eq(t, src.LatestIndex(), meta.Index)
	must.Eq(t, dump(t, src), dump(t, dst))
	must.Eq(t, hashOf(t, src), hashOf(t, dst))
}

func TestSnapshot_File(t *testing.T) {
	s := genStore(t, 300)
	dir := t.TempDir()
	path := filepath.Join(dir, "state.snap")
	meta, err := s.SaveSnapshotFile(path, t0)
	must.NoError(t, err)
	must.Eq(t, 300, meta.Counts["allocs"])
	entries, err := os.ReadDir(dir)
	must.NoError(t, err)
	must.SliceLen(t, 1, entries) // no temporary file left behind

	got, gotMeta, err := OpenSnapshotFile(path, nil)
	must.NoError(t, err)
	must.Eq(t, meta.Counts, gotMeta.Counts)
	must.Eq(t, hashOf(t, s), hashOf(t, got))

	// Saving over an existing file replaces it whole.
	s2 := seeded(t)
	_, err = s2.SaveSnapshotFile(path, t0)
	must.NoError(t, err)
	got, _, err = OpenSnapshotFile(path, nil)
	must.NoError(t, err)
	must.Eq(t, hashOf(t, s2), hashOf(t, got))

	_, _, err = OpenSnapshotFile(filepath.Join(dir, "missing"), nil)
	must.ErrorIs(t, err, os.ErrNotExist)
	_, err = s.SaveSnapshotFile(filepath.Join(dir, "no", "such", "dir"), t0)
	must.Error(t, err)
}
