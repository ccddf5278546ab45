package state

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// t0 is the server time plans in tests are stamped with.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func testStore(t testing.TB) *Store {
	t.Helper()
	s, err := NewStore(nil)
	must.NoError(t, err)
	return s
}

// apply runs a command through ApplyCommand and requires it to succeed.
func apply(t testing.TB, s *Store, typ structs.MessageType, req any) (uint64, any) {
	t.Helper()
	idx, res, err := s.ApplyCommand(typ, req)
	must.NoError(t, err)
	return idx, res
}

func mockNode(id, status string) *structs.Node {
	return &structs.Node{ID: id, SecretID: "secret-" + id, Name: "name-" + id, Datacenter: "dc1",
		NodePool: "default", Status: status, SchedulingEligibility: structs.NodeSchedulingEligible}
}

func mockJob(id string) *structs.Job {
	return &structs.Job{ID: id, Name: id, Type: structs.JobTypeService, Priority: 50,
		Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 2,
			Disconnect: &structs.DisconnectStrategy{LostAfter: time.Hour}}}}
}

func mockEval(id, trigger string) *structs.Evaluation {
	return &structs.Evaluation{ID: id, JobID: "job1", Type: structs.JobTypeService,
		TriggeredBy: trigger, Status: structs.EvalStatusPending}
}

func mockAlloc(id, nodeID string) *structs.Allocation {
	return &structs.Allocation{ID: id, EvalID: "eval0", Name: "job1.web[0]", NodeID: nodeID,
		JobID: "job1", TaskGroup: "web", ClientStatus: structs.AllocClientStatusRunning,
		TaskStates: map[string]*structs.TaskState{"app": {State: "running"}},
		Metrics:    &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: nodeID, NormScore: 0.5}}}}
}

func registerNode(t testing.TB, s *Store, id, status string) {
	t.Helper()
	apply(t, s, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: mockNode(id, status), UpdatedAt: t0.UnixNano()})
}

func place(t testing.TB, s *Store, allocs ...*structs.Allocation) {
	t.Helper()
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, AllocsPlaced: allocs})
}

// seeded returns a store with ready nodes n1 and n2, down node n3, job1,
// eval0, allocs a1, a2 on n1, a3 on n2 and a4 on n3, all running.
func seeded(t testing.TB) *Store {
	t.Helper()
	s := testStore(t)
	registerNode(t, s, "n1", structs.NodeStatusReady)
	registerNode(t, s, "n2", structs.NodeStatusReady)
	registerNode(t, s, "n3", structs.NodeStatusDown)
	apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job1"), Eval: mockEval("eval0", structs.EvalTriggerJobRegister)})
	place(t, s, mockAlloc("a1", "n1"), mockAlloc("a2", "n1"), mockAlloc("a3", "n2"), mockAlloc("a4", "n3"))
	return s
}

// disconnectA1 marks a1 unknown at t0 with pending follow-up eval "fu".
func disconnectA1(t testing.TB, s *Store) {
	t.Helper()
	apply(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Now:                t0,
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a1", FollowupEvalID: "fu"}},
		Evals:              []*structs.Evaluation{mockEval("fu", structs.EvalTriggerMaxDisconnectTimeout)},
	})
}

// storeDump is the whole store as a comparable value: every row of every
// table, deep-copied so later in-place mutation would show as a difference.
type storeDump struct {
	Latest  uint64
	Indexes map[string]uint64
	Nodes   []*structs.Node
	Allocs  []*structs.Allocation
	Jobs    []*structs.Job
	Evals   []*structs.Evaluation
	// Internal tables: alloc key rows (by alloc ID; every alloc has a job
	// row) and alloc_watch indexes.
	Keys  []allocKeys
	Watch map[string]uint64
}

func dump(t testing.TB, s *Store) storeDump {
	t.Helper()
	sn := s.Snapshot()
	d := storeDump{Latest: sn.LatestIndex(), Indexes: map[string]uint64{}}
	for _, tbl := range tables {
		d.Indexes[tbl] = sn.Index(tbl)
	}
	nodes, err := sn.Nodes(nil)
	must.NoError(t, err)
	for _, n := range nodes {
		d.Nodes = append(d.Nodes, n.Copy())
	}
	it, err := sn.Allocs(nil)
	must.NoError(t, err)
	for raw := it.Next(); raw != nil; raw = it.Next() {
		d.Allocs = append(d.Allocs, raw.(*structs.Allocation).Copy())
	}
	jobs, err := sn.Jobs(nil)
	must.NoError(t, err)
	for _, j := range jobs {
		d.Jobs = append(d.Jobs, j.Copy())
	}
	evals, err := sn.Evals(nil)
	must.NoError(t, err)
	for _, e := range evals {
		d.Evals = append(d.Evals, e.Copy())
	}
	// The alloc tables always agree: each key table holds exactly the
	// current keys of the allocs it lists.
	rows := map[keyPart]map[string]allocKeys{}
	for p := range numKeyParts {
		keys, err := list[*allocKeys](sn.reader, nil, keyTables[p], "id")
		must.NoError(t, err)
		rows[p] = map[string]allocKeys{}
		for _, k := range keys {
			_, dup := rows[p][k.ID]
			must.False(t, dup, must.Sprintf("%s lists %q twice", keyTables[p], k.ID))
			rows[p][k.ID] = *k
		}
	}
	for _, a := range d.Allocs {
		want := keysOf(a)
		d.Keys = append(d.Keys, want)
		for p := range numKeyParts {
			got, ok := rows[p][a.ID]
			must.Eq(t, want.has(p), ok, must.Sprintf("%s row of %q", keyTables[p], a.ID))
			if ok {
				must.Eq(t, want, got)
			}
			delete(rows[p], a.ID)
		}
	}
	for p := range numKeyParts {
		must.MapEmpty(t, rows[p], must.Sprintf("%s rows without an alloc", keyTables[p]))
	}
	watch, err := list[*indexEntry](sn.reader, nil, tableAllocWatch, "id")
	must.NoError(t, err)
	d.Watch = map[string]uint64{}
	for _, w := range watch {
		d.Watch[w.Key] = w.Value
	}
	return d
}

func node(t testing.TB, s *Store, id string) *structs.Node {
	t.Helper()
	n, err := s.NodeByID(nil, id)
	must.NoError(t, err)
	must.NotNil(t, n)
	return n
}

func alloc(t testing.TB, s *Store, id string) *structs.Allocation {
	t.Helper()
	a, err := s.AllocByID(nil, id)
	must.NoError(t, err)
	must.NotNil(t, a)
	return a
}

func eval(t testing.TB, s *Store, id string) *structs.Evaluation {
	t.Helper()
	e, err := s.EvalByID(nil, id)
	must.NoError(t, err)
	must.NotNil(t, e)
	return e
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := structs.Marshal(v)
	must.NoError(t, err)
	return b
}
