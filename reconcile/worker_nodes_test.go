package reconcile

import (
	"fmt"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// buildInput's nodes come from the worker's node memo: they must be
// exactly what the snapshot holds, on the point-lookup path and after the
// memo switched to reading every node, and follow a node's change.
func TestWorker_NodeMemoMatchesSnapshot(t *testing.T) {
	e := wkNew(t)
	const n = nodeMemoFill + 100 // enough to switch to the whole-table read
	job := wkJob("big", n+2)
	e.job(job, "")
	var placed []*structs.Allocation
	node := func(i int) string { return fmt.Sprintf("n%04d", i) }
	for i := range n {
		e.node(node(i), structs.NodeStatusReady)
	}
	// One alloc on a node that does not exist before the switch, one after.
	ids := append([]string{"gone-a"}, make([]string, 0, n+1)...)
	for i := range n {
		ids = append(ids, node(i))
	}
	ids = append(ids, "gone-b")
	for i, nodeID := range ids {
		placed = append(placed, &structs.Allocation{ID: fmt.Sprintf("a%04d", i), Namespace: structs.DefaultNamespace,
			JobID: job.ID, TaskGroup: "web", Name: fmt.Sprintf("big.web[%d]", i), NodeID: nodeID,
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning})
	}
	e.apply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Namespace: structs.DefaultNamespace,
		JobID: job.ID, Now: e.clk.Now(), AllocsPlaced: placed})

	check := func() map[string]*structs.Node {
		t.Helper()
		snap := e.s.Snapshot()
		stored, err := snap.JobByID(nil, job.Namespace, job.ID)
		must.NoError(t, err)
		e.w.procMu.Lock()
		in, err := buildInput(snap, stored, "eval", e.clk.Now(), e.w.memoNodes(snap))
		full := e.w.nodeMemo.full
		// The read-only views a parallel batch uses see the same nodes.
		var shared []map[string]*structs.Node
		for _, fill := range []bool{false, true} {
			e.w.nodeMemo.reset(0) // forget, so fill=false reads the store
			view, verr := e.w.sharedNodes(snap, fill)
			must.NoError(t, verr)
			sin, serr := buildInput(snap, stored, "eval", e.clk.Now(), view)
			must.NoError(t, serr)
			shared = append(shared, sin.Nodes)
		}
		e.w.procMu.Unlock()
		must.NoError(t, err)
		for _, m := range shared {
			must.MapEq(t, in.Nodes, m)
		}
		must.True(t, full, must.Sprint("the memo should have switched to the whole-table read"))
		must.MapLen(t, n, in.Nodes)
		for i := range n {
			want, err := snap.NodeByID(nil, node(i))
			must.NoError(t, err)
			must.True(t, want == in.Nodes[node(i)], must.Sprintf("node %s", node(i)))
		}
		must.MapNotContainsKeys(t, in.Nodes, []string{"gone-a", "gone-b"})
		return in.Nodes
	}
	before := check()
	must.Eq(t, structs.NodeStatusReady, before[node(0)].Status)
	e.nodeStatus(node(0), structs.NodeStatusDown)
	after := check()
	must.Eq(t, structs.NodeStatusDown, after[node(0)].Status)
}
