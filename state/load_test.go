package state

import (
	"errors"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// objectsOf returns a copy of every object in s, in table order.
func objectsOf(t testing.TB, s *Store) Objects {
	t.Helper()
	d := dump(t, s)
	return Objects{Nodes: d.Nodes, Jobs: d.Jobs, Allocs: d.Allocs, Evals: d.Evals}
}

// indexesOf returns s's index rows and alloc_watch rows.
func indexesOf(t testing.TB, s *Store) loadIndexes {
	t.Helper()
	d := dump(t, s)
	return loadIndexes{latest: d.Latest, tables: d.Indexes, watch: d.Watch}
}

func TestLoadStore_SameStateAsCommands(t *testing.T) {
	live := seeded(t)
	disconnectA1(t, live)
	apply(t, live, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: "n2", Status: structs.NodeStatusDown, UpdatedAt: t0.UnixNano()})

	loaded, err := loadStore(objectsOf(t, live), indexesOf(t, live), nil)
	must.NoError(t, err)
	// Every row of every table, internal ones included, and the hash.
	must.Eq(t, dump(t, live), dump(t, loaded))
	want, err := live.StateHash()
	must.NoError(t, err)
	got, err := loaded.StateHash()
	must.NoError(t, err)
	must.Eq(t, want, got)

	// The loaded store keeps working: commands apply on top of it.
	apply(t, loaded, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: "n1", Status: structs.NodeStatusDown, UpdatedAt: t0.UnixNano()})
	must.Eq(t, structs.NodeStatusDown, node(t, loaded, "n1").Status)
}

func TestLoadStore_Public(t *testing.T) {
	live := seeded(t)
	disconnectA1(t, live)
	objs := objectsOf(t, live)
	loaded, err := LoadStore(objs, 0, nil)
	must.NoError(t, err)
	// Index 0: every index is the highest ModifyIndex (the disconnect).
	must.Eq(t, live.LatestIndex(), loaded.LatestIndex())
	for _, tbl := range tables {
		must.Eq(t, live.LatestIndex(), loaded.Index(tbl))
	}
	dl, dd := dump(t, live), dump(t, loaded)
	must.Eq(t, dl.Nodes, dd.Nodes)
	must.Eq(t, dl.Allocs, dd.Allocs)
	must.Eq(t, dl.Jobs, dd.Jobs)
	must.Eq(t, dl.Evals, dd.Evals)
	must.Eq(t, dl.Keys, dd.Keys)
	// Reads through the secondary indexes see the same allocs.
	for _, n := range []string{"n1", "n2", "n3"} {
		want, err := live.AllocsByNode(nil, n)
		must.NoError(t, err)
		got, err := loaded.AllocsByNode(nil, n)
		must.NoError(t, err)
		must.Eq(t, want, got)
	}
	byJob, err := loaded.AllocsByJob(nil, "", "job1")
	must.NoError(t, err)
	must.SliceLen(t, 4, byJob)

	// An explicit index wins over ModifyIndex.
	loaded, err = LoadStore(objectsOf(t, live), 1000, nil)
	must.NoError(t, err)
	must.Eq(t, 1000, loaded.LatestIndex())
	must.Eq(t, 1000, loaded.Index(TableEvals))
}

func TestLoadStore_OutOfOrderAndNamespace(t *testing.T) {
	a2, a1 := mockAlloc("a2", "n1"), mockAlloc("a1", "n1")
	j := mockJob("job1")
	s, err := LoadStore(Objects{Allocs: []*structs.Allocation{a2, a1}, Jobs: []*structs.Job{j}}, 7, nil)
	must.NoError(t, err)
	got, err := s.AllocsByJob(nil, structs.DefaultNamespace, "job1")
	must.NoError(t, err)
	must.SliceLen(t, 2, got)
	must.Eq(t, "a1", got[0].ID)
	must.Eq(t, structs.DefaultNamespace, alloc(t, s, "a2").Namespace)
	gotJob, err := s.JobByID(nil, "", "job1")
	must.NoError(t, err)
	must.NotNil(t, gotJob)
}

func TestLoadStore_BadInput(t *testing.T) {
	cases := map[string]struct {
		objs  Objects
		table string
		id    string
	}{
		"nil node":          {Objects{Nodes: []*structs.Node{nil}}, TableNodes, ""},
		"empty node ID":     {Objects{Nodes: []*structs.Node{mockNode("", "ready")}}, TableNodes, ""},
		"duplicate node":    {Objects{Nodes: []*structs.Node{mockNode("n1", "ready"), mockNode("n1", "down")}}, TableNodes, "n1"},
		"dup node unsorted": {Objects{Nodes: []*structs.Node{mockNode("n2", "ready"), mockNode("n1", "ready"), mockNode("n2", "down")}}, TableNodes, "n2"},
		"empty job ID":      {Objects{Jobs: []*structs.Job{mockJob("")}}, TableJobs, ""},
		"duplicate job":     {Objects{Jobs: []*structs.Job{mockJob("j"), mockJob("j")}}, TableJobs, "j"},
		"empty alloc ID":    {Objects{Allocs: []*structs.Allocation{mockAlloc("", "n1")}}, TableAllocs, ""},
		"duplicate alloc":   {Objects{Allocs: []*structs.Allocation{mockAlloc("a", "n1"), mockAlloc("a", "n2")}}, TableAllocs, "a"},
		"alloc no job":      {Objects{Allocs: []*structs.Allocation{{ID: "a"}}}, TableAllocs, "a"},
		"empty eval ID":     {Objects{Evals: []*structs.Evaluation{mockEval("", "x")}}, TableEvals, ""},
		"duplicate eval":    {Objects{Evals: []*structs.Evaluation{mockEval("e", "x"), mockEval("e", "y")}}, TableEvals, "e"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := LoadStore(tc.objs, 5, nil)
			must.Nil(t, s)
			must.ErrorIs(t, err, structs.ErrInvalidRequest)
			var le *LoadError
			must.True(t, errors.As(err, &le))
			must.Eq(t, tc.table, le.Table)
			must.Eq(t, tc.id, le.ID)
		})
	}
}
