package rpc

import (
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// opsEnv is the job and operator endpoints over a fixture's store, in
// process and over TCP.
type opsEnv struct {
	f         *fixture
	jobs      *Jobs
	ops       *Operator
	transport map[string]struct {
		jobs JobAPI
		ops  OperatorAPI
	}
}

type fakeHBInfo struct{}

func (fakeHBInfo) HeartbeatInfo(id string) (time.Time, time.Duration, time.Time) {
	if id == "n1" {
		return t0, 10 * time.Second, t0.Add(20 * time.Second)
	}
	return time.Time{}, 0, time.Time{}
}

type fakeDecisions map[string]DecisionInfo

func (d fakeDecisions) LastDecision(id string) (DecisionInfo, bool) {
	v, ok := d[id]
	return v, ok
}

func newOpsEnv(t *testing.T) *opsEnv {
	f := newFixture(t, nil)
	jobs, err := NewJobs(JobsConfig{Store: f.store, Clock: f.clock, NewID: func() string { return "eval-job" }})
	must.NoError(t, err)
	ops, err := NewOperator(OperatorConfig{
		Store: f.store, Heartbeats: fakeHBInfo{}, Leader: func() bool { return true },
		Decisions: fakeDecisions{"a2": {Kind: "place", Reason: "row 7 (disconnected node: disconnecting)", Index: 9}},
	})
	must.NoError(t, err)
	env := startServer(t, f.node, func(c *ServerConfig) { c.Jobs, c.Operator = jobs, ops })
	c := newTestClient(t, env.addr, nil)
	e := &opsEnv{f: f, jobs: jobs, ops: ops, transport: map[string]struct {
		jobs JobAPI
		ops  OperatorAPI
	}{
		"inproc": {jobs, ops},
		"tcp":    {c.Jobs(), c.Operator()},
	}}
	return e
}

func TestJobs_RegisterGetStatusDeregister(t *testing.T) {
	for _, name := range []string{"inproc", "tcp"} {
		t.Run(name, func(t *testing.T) {
			e := newOpsEnv(t)
			api := e.transport[name].jobs
			var reg JobRegisterResponse
			must.NoError(t, api.Register(&JobRegisterRequest{Job: testJob("web")}, &reg))
			must.Eq(t, "eval-job", reg.EvalID)
			must.Eq(t, uint64(0), reg.JobVersion)
			ev, err := e.f.store.EvalByID(nil, "eval-job")
			must.NoError(t, err)
			must.Eq(t, structs.EvalTriggerJobRegister, ev.TriggeredBy)
			must.Eq(t, structs.EvalStatusPending, ev.Status)
			must.Eq(t, 70, ev.Priority)

			// A second register is a new version.
			must.NoError(t, api.Register(&JobRegisterRequest{Job: testJob("web")}, &reg))
			must.Eq(t, uint64(1), reg.JobVersion)

			var got JobGetResponse
			must.NoError(t, api.Get(&JobSpecificRequest{JobID: "web"}, &got))
			must.Eq(t, "web", got.Job.ID)
			must.Eq(t, structs.DefaultNamespace, got.Job.Namespace)

			e.f.addNode("n1", structs.NodeStatusReady)
			e.f.place(testAlloc("a1", "web", "n1", "running"))
			var st JobStatusResponse
			must.NoError(t, api.Status(&JobSpecificRequest{JobID: "web"}, &st))
			must.Eq(t, 1, st.Summary["web"]["running"])
			must.Len(t, 1, st.Allocs)
			must.Eq(t, "a1", st.Allocs[0].ID)
			must.Len(t, 1, st.Evals) // the second register reused the eval ID

			var dereg JobDeregisterResponse
			must.NoError(t, api.Deregister(&JobDeregisterRequest{JobID: "web"}, &dereg))
			must.NoError(t, api.Get(&JobSpecificRequest{JobID: "web"}, &got))
			must.True(t, got.Job.Stop)
		})
	}
}

func TestJobs_BadInputChangesNothing(t *testing.T) {
	for _, name := range []string{"inproc", "tcp"} {
		t.Run(name, func(t *testing.T) {
			e := newOpsEnv(t)
			api := e.transport[name].jobs
			before := e.f.store.LatestIndex()

			bad := testJob("web")
			bad.TaskGroups[0].Disconnect.Reconcile = "newest"
			err := api.Register(&JobRegisterRequest{Job: bad}, &JobRegisterResponse{})
			must.ErrorIs(t, err, structs.ErrInvalidJob)
			must.StrContains(t, err.Error(), "disconnect.reconcile")

			both := testJob("web")
			d := time.Minute
			both.TaskGroups[0].Disconnect.StopOnClientAfter = &d
			must.ErrorIs(t, api.Register(&JobRegisterRequest{Job: both}, &JobRegisterResponse{}), structs.ErrInvalidJob)
			must.ErrorIs(t, api.Register(&JobRegisterRequest{}, &JobRegisterResponse{}), structs.ErrInvalidJob)

			err = api.Get(&JobSpecificRequest{JobID: "nope"}, &JobGetResponse{})
			must.ErrorIs(t, err, structs.ErrUnknownJob)
			must.StrContains(t, err.Error(), `unknown job "nope"`)
			must.ErrorIs(t, api.Status(&JobSpecificRequest{JobID: "nope"}, &JobStatusResponse{}), structs.ErrUnknownJob)
			must.ErrorIs(t, api.Deregister(&JobDeregisterRequest{JobID: "nope"}, &JobDeregisterResponse{}), structs.ErrUnknownJob)
			must.ErrorIs(t, api.Deregister(&JobDeregisterRequest{}, &JobDeregisterResponse{}), structs.ErrInvalidRequest)
			must.Eq(t, before, e.f.store.LatestIndex())
		})
	}
}

func TestOperator_NodesAllocsStatus(t *testing.T) {
	for _, name := range []string{"inproc", "tcp"} {
		t.Run(name, func(t *testing.T) {
			e := newOpsEnv(t)
			api := e.transport[name].ops
			e.f.addNode("n1", structs.NodeStatusReady)
			e.f.addNode("n2", structs.NodeStatusReady)
			e.f.addJob("web")
			e.f.place(testAlloc("a1", "web", "n1", "running"))
			a2 := testAlloc("a2", "web", "n2", "pending")
			a2.PreviousAllocation = "a1"
			e.f.place(a2)
			e.f.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
				Now: t0.Add(time.Minute), AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a1"}}})

			var n NodeInfo
			must.NoError(t, api.NodeGet(&NodeGetRequest{NodeID: "n1"}, &n))
			must.Eq(t, "", n.Node.SecretID) // never returned
			must.True(t, n.LastHeartbeat.Equal(t0))
			must.Eq(t, 10*time.Second, n.HeartbeatTTL)
			must.Eq(t, 1, n.AllocsByStatus["unknown"])
			must.Len(t, 1, n.Allocs)

			var list NodeListResponse
			must.NoError(t, api.NodeList(&NodeListRequest{}, &list))
			must.Len(t, 2, list.Nodes)
			must.Eq(t, "n2", list.Nodes[1].Node.ID)
			must.Eq(t, "", list.Nodes[1].Node.SecretID)
			must.Nil(t, list.Nodes[0].Allocs)

			var a AllocInfo
			must.NoError(t, api.AllocGet(&AllocGetRequest{AllocID: "a2"}, &a))
			must.Len(t, 2, a.Chain)
			must.Eq(t, "a1", a.Chain[0].ID)
			must.Eq(t, "a2", a.Chain[1].ID)
			must.NotNil(t, a.LastDecision)
			must.Eq(t, "place", a.LastDecision.Kind)

			must.NoError(t, api.AllocGet(&AllocGetRequest{AllocID: "a1"}, &a))
			must.Eq(t, "unknown", a.Alloc.LastClientStatus())
			must.Len(t, 2, a.Chain)
			must.Nil(t, a.LastDecision)

			var st ServerStatusResponse
			must.NoError(t, api.ServerStatus(&ServerStatusRequest{}, &st))
			sum, err := e.f.store.StateHash()
			must.NoError(t, err)
			must.Eq(t, hex.EncodeToString(sum[:]), st.StateHash)
			must.Eq(t, 2, st.Nodes)
			must.Eq(t, 2, st.Allocs)
			must.True(t, st.Leader)
		})
	}
}

func TestOperator_PrefixesAndUnknownIDs(t *testing.T) {
	for _, name := range []string{"inproc", "tcp"} {
		t.Run(name, func(t *testing.T) {
			e := newOpsEnv(t)
			api := e.transport[name].ops
			e.f.addNode("node-aa", structs.NodeStatusReady)
			e.f.addNode("node-ab", structs.NodeStatusReady)
			e.f.addJob("web")
			e.f.place(testAlloc("alloc-123", "web", "node-aa", "running"))

			var n NodeInfo
			must.NoError(t, api.NodeGet(&NodeGetRequest{NodeID: "node-aa"}, &n))
			err := api.NodeGet(&NodeGetRequest{NodeID: "node-a"}, &n)
			must.ErrorIs(t, err, structs.ErrInvalidRequest)
			must.StrContains(t, err.Error(), "ambiguous")
			err = api.NodeGet(&NodeGetRequest{NodeID: "zzz"}, &n)
			must.ErrorIs(t, err, structs.ErrUnknownNode)
			must.StrContains(t, err.Error(), `unknown node "zzz"`)

			var a AllocInfo
			must.NoError(t, api.AllocGet(&AllocGetRequest{AllocID: "alloc-1"}, &a))
			must.Eq(t, "alloc-123", a.Alloc.ID)
			err = api.AllocGet(&AllocGetRequest{AllocID: "nope"}, &a)
			must.ErrorIs(t, err, structs.ErrUnknownAlloc)
			must.ErrorIs(t, api.AllocGet(&AllocGetRequest{}, &a), structs.ErrInvalidRequest)

			var list NodeListResponse
			must.NoError(t, api.NodeList(&NodeListRequest{Prefix: "node-ab"}, &list))
			must.Len(t, 1, list.Nodes)
		})
	}
}

// A server without Jobs/Operator does not serve them: the call fails as an
// unknown service, and the Node client endpoints still work.
func TestServer_OptionalServicesAbsent(t *testing.T) {
	f := newFixture(t, nil)
	env := startServer(t, f.node, nil)
	c := newTestClient(t, env.addr, nil)
	err := c.JobGet(&JobSpecificRequest{JobID: "x"}, &JobGetResponse{})
	must.Error(t, err)
	var re *RemoteError
	must.True(t, errors.As(err, &re))
	must.StrContains(t, err.Error(), "can't find service")
}
