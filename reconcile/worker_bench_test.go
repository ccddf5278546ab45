package reconcile

import (
	"fmt"
	"github.com/rejoinhq/rejoin/clock/clocktest"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// BenchmarkWorker_NodeUpdateEvals measures the eval worker draining 10,000
// node-update evaluations after 100 of 1,000 nodes disconnected, on a real
// store. Every evaluation's job has allocs on a disconnected node, so each
// job run writes Disconnects, a max-disconnect-timeout follow-up and
// replacements. Shapes:
//
//	jobs=10000/evals-per-job=1:  10,000 jobs of count 2, one alloc on a
//	  disconnected node: 10,000 job runs (3 decisions each).
//	jobs=1000/evals-per-job=10:  1,000 jobs of count 20, 10 allocs on 10
//	  different disconnected nodes: each job gets 10 evals, deduplicated
//	  into one run (21 decisions).
//
// Setup (store, nodes, jobs, allocs, the disconnect commands carrying the
// evals) is excluded from the timing; evals/s counts evaluations completed.
func BenchmarkWorker_NodeUpdateEvals(b *testing.B) {
	for _, shape := range []struct{ jobs, perJob int }{{10000, 1}, {1000, 10}} {
		b.Run(fmt.Sprintf("jobs=%d/evals-per-job=%d", shape.jobs, shape.perJob), func(b *testing.B) {
			b.ReportAllocs()
			total := 0
			for b.Loop() {
				b.StopTimer()
				s, evals := wbSetup(b, shape.jobs, shape.perJob)
				clk := clocktest.NewFake(wkT0.Add(time.Minute))
				w := NewWorker(WorkerConfig{Store: s, Clock: clk, NewID: apSeqIDs("b")})
				runtime.GC() // setup garbage is not the worker's
				b.StartTimer()
				n, err := w.ProcessReady()
				if err != nil || n != evals {
					b.Fatalf("processed %d of %d evals: %v", n, evals, err)
				}
				total += n
			}
			b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "evals/s")
		})
	}
}

const (
	wbNodes        = 1000
	wbDisconnected = 100
)

// wbSetup builds the store: wbNodes ready nodes, jobs whose allocs sit
// perJob on distinct disconnected nodes (nodes 0..99) and as many again on
// ready nodes, all running; then nodes 0..99 go disconnected, each
// NodeUpdateStatus carrying one node-update eval per job with an alloc
// there. It returns the store and the number of evals.
func wbSetup(b *testing.B, jobs, perJob int) (*state.Store, int) {
	b.Helper()
	s, err := state.NewStore(nil)
	if err != nil {
		b.Fatal(err)
	}
	do := func(t structs.MessageType, req any) {
		if _, _, err := s.ApplyCommand(t, req); err != nil {
			b.Fatal(err)
		}
	}
	nodeID := func(i int) string { return fmt.Sprintf("node-%04d", i) }
	for i := range wbNodes {
		do(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: apNode(nodeID(i), structs.NodeStatusReady), UpdatedAt: wkT0.UnixNano()})
	}
	onNode := make([][]string, wbDisconnected) // disconnected node -> jobs with an alloc there
	var placed []*structs.Allocation
	for j := range jobs {
		id := "job-" + strconv.Itoa(j)
		do(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: wkJob(id, 2*perJob), UpdatedAt: wkT0.UnixNano()})
		for k := range 2 * perJob {
			var node int
			if k < perJob {
				node = (j*perJob + k) % wbDisconnected
				onNode[node] = append(onNode[node], id)
			} else {
				node = wbDisconnected + (j*perJob+k)%(wbNodes-wbDisconnected)
			}
			a := apAlloc(id+"-"+strconv.Itoa(k), fmt.Sprintf("%s.web[%d]", id, k), nodeID(node), structs.AllocClientStatusRunning)
			a.JobID, a.JobVersion = id, 0
			placed = append(placed, a)
		}
	}
	do(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: wkT0, AllocsPlaced: placed})
	evals := 0
	for n, jobIDs := range onNode {
		req := &structs.NodeUpdateStatusRequest{NodeID: nodeID(n), Status: structs.NodeStatusDisconnected, UpdatedAt: wkT0.UnixNano()}
		for _, id := range jobIDs {
			evals++
			req.Evals = append(req.Evals, wkEval(fmt.Sprintf("nu-%s-%s", nodeID(n), id), id, structs.EvalTriggerNodeUpdate))
		}
		do(structs.NodeUpdateStatusRequestType, req)
	}
	return s, evals
}
