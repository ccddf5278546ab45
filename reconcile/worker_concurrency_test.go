package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// TestWorker_NoPlanWrittenOverAConcurrentChange runs the worker's Run loop
// with parallel preparation while client goroutines keep writing to the
// same jobs' allocations, as a live server's RPC handlers do. From the
// command log it then checks what the store's plan check promises: no
// plan was written if a command between its ReadIndex and its own index
// changed one of its job's allocations. The clients run until plans have
// been refused as stale, so the races did happen.
func TestWorker_NoPlanWrittenOverAConcurrentChange(t *testing.T) {
	e := wkNew(t)
	const nodes, jobs, clients = 8, 16, 4
	for i := range nodes {
		e.node(fmt.Sprintf("n%d", i), structs.NodeStatusReady)
	}
	for i := range jobs {
		e.job(wkJob(fmt.Sprintf("job%02d", i), 4), fmt.Sprintf("reg%02d", i))
	}
	e.process()
	byNode := map[string][]*structs.Allocation{}
	for i := range jobs {
		for _, a := range e.jobAllocs(fmt.Sprintf("job%02d", i)) {
			e.clientUpdate(a.NodeID, a.ID, structs.AllocClientStatusRunning)
			byNode[a.NodeID] = append(byNode[a.NodeID], a)
		}
	}

	type record struct {
		index   uint64
		typ     structs.MessageType
		payload []byte
	}
	var (
		logMu sync.Mutex // protects log: the sink runs on the writers' goroutines
		log   []record
	)
	e.s.SetCommandSink(func(index uint64, typ structs.MessageType, payload []byte) {
		logMu.Lock()
		defer logMu.Unlock()
		log = append(log, record{index, typ, append([]byte(nil), payload...)})
	})
	var counters wkCounters
	w := NewWorker(WorkerConfig{Store: e.s, Clock: e.clk, NewID: apSeqIDs("c"), Parallelism: 4, Metrics: &counters})
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- w.Run(ctx) }()

	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []*structs.Allocation
			for i := c; i < nodes; i += clients {
				mine = append(mine, byNode[fmt.Sprintf("n%d", i)]...)
			}
			for i := 0; i < 50000 && counters.get(MetricPlanStale) < 20; i++ {
				a := mine[i%len(mine)]
				// A report plus an evaluation of its job: the worker keeps
				// running the jobs whose allocations keep changing.
				_, _, err := e.s.ApplyCommand(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
					NodeID: a.NodeID, UpdatedAt: e.clk.Now().UnixNano(),
					Alloc: []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}},
					Evals: []*structs.Evaluation{wkEval(fmt.Sprintf("c%d-%d", c, i), a.JobID, structs.EvalTriggerNodeUpdate)},
				})
				if err != nil {
					t.Errorf("client update: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	must.NoError(t, <-ran)
	// Drain what is left, jobs set aside after staleAttempts included.
	e.w = w
	e.process()
	e.clk.Advance(staleBackoff)
	e.process()
	e.noEvalPendingOrFailed()

	// Which job each alloc belongs to; allocs are never deleted.
	jobOf := func(id string) string {
		a, err := e.s.AllocByID(nil, id)
		must.NoError(t, err)
		must.NotNil(t, a)
		return a.JobID
	}
	logMu.Lock()
	defer logMu.Unlock()
	plans := 0
	for i, r := range log {
		if r.typ != structs.ApplyPlanResultsRequestType {
			continue
		}
		req, err := structs.DecodeCommand(r.typ, r.payload)
		must.NoError(t, err)
		plan := req.(*structs.ApplyPlanResultsRequest)
		must.Positive(t, plan.ReadIndex)
		plans++
		for _, o := range log[:i] {
			if o.index <= plan.ReadIndex {
				continue
			}
			oreq, err := structs.DecodeCommand(o.typ, o.payload)
			must.NoError(t, err)
			switch x := oreq.(type) {
			case *structs.AllocUpdateRequest:
				for _, a := range x.Alloc {
					must.NotEq(t, plan.JobID, jobOf(a.ID), must.Sprintf(
						"plan at %d (read at %d) written over a client update of its job at %d", r.index, plan.ReadIndex, o.index))
				}
			case *structs.ApplyPlanResultsRequest:
				must.NotEq(t, plan.JobID, x.JobID, must.Sprintf(
					"plan at %d (read at %d) written over another plan of its job at %d", r.index, plan.ReadIndex, o.index))
			}
		}
	}
	must.Positive(t, plans)
	must.Positive(t, counters.get(MetricPlanStale))
}
