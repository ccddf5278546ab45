package state

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// genObjects returns a cluster with n allocs of mixed states: running,
// pending, complete, failed, lost, and unknown (disconnected, with a
// follow-up eval and AllocStates history), over n/50 nodes of every status
// and n/100 jobs. The same n gives the same objects.
func genObjects(n int) Objects {
	nodes := max(n/50, 1)
	jobs := max(n/100, 1)
	var o Objects
	nodeStatus := []string{structs.NodeStatusReady, structs.NodeStatusReady, structs.NodeStatusReady,
		structs.NodeStatusDown, structs.NodeStatusDisconnected, structs.NodeStatusInit}
	for i := range nodes {
		nd := mockNode(fmt.Sprintf("node-%06d", i), nodeStatus[i%len(nodeStatus)])
		nd.CreateIndex, nd.ModifyIndex = 1, uint64(2+i%5)
		o.Nodes = append(o.Nodes, nd)
	}
	for i := range jobs {
		j := mockJob(fmt.Sprintf("job-%05d", i))
		j.Namespace = structs.DefaultNamespace
		j.Version = uint64(i % 3)
		j.CreateIndex, j.ModifyIndex, j.JobModifyIndex = 3, 4, 4
		o.Jobs = append(o.Jobs, j)
		e := mockEval(fmt.Sprintf("eval-%05d", i), structs.EvalTriggerJobRegister)
		e.JobID, e.Namespace = j.ID, structs.DefaultNamespace
		e.Status = structs.EvalStatusComplete
		e.CreateIndex, e.ModifyIndex = 4, 5
		o.Evals = append(o.Evals, e)
	}
	client := []string{structs.AllocClientStatusRunning, structs.AllocClientStatusRunning,
		structs.AllocClientStatusPending, structs.AllocClientStatusComplete,
		structs.AllocClientStatusFailed, structs.AllocClientStatusLost, structs.AllocClientStatusUnknown}
	base := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	for i := range n {
		nodeID := o.Nodes[i%nodes].ID
		a := mockAlloc(fmt.Sprintf("alloc-%07d", i), nodeID)
		a.Namespace = structs.DefaultNamespace
		a.JobID = o.Jobs[i%jobs].ID
		a.EvalID = o.Evals[i%jobs].ID
		a.Name = fmt.Sprintf("%s.web[%d]", a.JobID, i/jobs)
		a.DesiredStatus = structs.AllocDesiredStatusRun
		a.ClientStatus = client[i%len(client)]
		a.CreateIndex, a.ModifyIndex, a.AllocModifyIndex = 5, uint64(6+i%7), 6
		a.CreateTime = base.UnixNano()
		a.ModifyTime = base.Add(time.Duration(i) * time.Millisecond).UnixNano()
		switch a.ClientStatus {
		case structs.AllocClientStatusUnknown:
			a.ClientDescription = structs.AllocUnknown
			a.FollowupEvalID = "fu-" + nodeID
			a.AppendState(structs.AllocStateFieldClientStatus, structs.AllocClientStatusUnknown, base.Add(time.Minute))
		case structs.AllocClientStatusLost, structs.AllocClientStatusComplete:
			a.DesiredStatus = structs.AllocDesiredStatusStop
			a.DesiredDescription = structs.AllocLost
		}
		if i%11 == 0 {
			a.AppendState(structs.AllocStateFieldClientStatus, structs.AllocClientStatusUnknown, base)
			a.AppendState(structs.AllocStateFieldClientStatus, structs.AllocClientStatusRunning, base.Add(time.Second))
		}
		o.Allocs = append(o.Allocs, a)
	}
	return o
}

// genStore loads genObjects(n) with per-table indexes like a live store's.
func genStore(t testing.TB, n int) *Store {
	t.Helper()
	s, err := loadStore(genObjects(n), loadIndexes{latest: 20,
		tables: map[string]uint64{TableNodes: 7, TableJobs: 4, TableAllocs: 20, TableEvals: 5}}, nil)
	must.NoError(t, err)
	return s
}

// persist returns s's snapshot file bytes.
func persist(t testing.TB, s *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := s.Snapshot().Persist(&buf, t0)
	must.NoError(t, err)
	return buf.Bytes()
}

func hashOf(t testing.TB, s *Store) [32]byte {
	t.Helper()
	h, err := s.StateHash()
	must.NoError(t, err)
	return h
}
