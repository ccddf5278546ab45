package state

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Benchmarks: go test -run '^$' -bench . -benchmem ./state

const (
	benchNodes         = 100
	benchAllocsPerNode = 1000
)

func benchAllocID(node, i int) string { return fmt.Sprintf("alloc-%04d-%05d", node, i) }
func benchNodeID(node int) string     { return fmt.Sprintf("node-%04d", node) }
func benchNextIndex(s *Store) uint64  { return s.LatestIndex() + 1 }

// cpuTime is the CPU time the process has used, GC included: a cost measure
// that holds when other processes share the machine, unlike wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchMust(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// benchStore builds a store of nodes*perNode running allocs on ready nodes,
// placed through the command path in batches of perNode.
func benchStore(b *testing.B, nodes, perNode int) *Store {
	b.Helper()
	s, err := NewStore(nil)
	benchMust(b, err)
	_, _, err = s.ApplyCommand(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: mockJob("job1")})
	benchMust(b, err)
	for n := 0; n < nodes; n++ {
		_, _, err := s.ApplyCommand(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{
			Node: mockNode(benchNodeID(n), structs.NodeStatusReady)})
		benchMust(b, err)
		placed := make([]*structs.Allocation, perNode)
		for i := range placed {
			a := mockAlloc(benchAllocID(n, i), benchNodeID(n))
			a.EvalID = fmt.Sprintf("eval-%04d", n)
			a.AllocStates = []*structs.AllocState{{Value: structs.AllocClientStatusRunning, Time: t0}}
			placed[i] = a
		}
		_, _, err = s.ApplyCommand(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0, AllocsPlaced: placed})
		benchMust(b, err)
	}
	return s
}

// BenchmarkAllocClientUpdate applies client updates of 1,000 allocs (one
// node's worth, alternating pending/running so every update is a change)
// against a store of 100,000 allocs:
//   - apply: Apply with a pre-encoded payload (replay, a replicated log):
//     decode, validate, write;
//   - command: ApplyCommand with the request (the single-server RPC path);
//   - command+sink: ApplyCommand with a sink, so the request is also encoded.
func BenchmarkAllocClientUpdate(b *testing.B) {
	s := benchStore(b, benchNodes, benchAllocsPerNode)
	// Batches for 10 of the 100 nodes, each status: enough to cycle through
	// while keeping the benchmark's own live heap small next to the store's
	// (it would otherwise change how often the GC runs).
	var reqs []*structs.AllocUpdateRequest
	var payloads [][]byte
	for _, status := range []string{structs.AllocClientStatusPending, structs.AllocClientStatusRunning} {
		for n := 0; n < 10; n++ {
			req := &structs.AllocUpdateRequest{NodeID: benchNodeID(n), UpdatedAt: t0.UnixNano()}
			for i := 0; i < benchAllocsPerNode; i++ {
				req.Alloc = append(req.Alloc, &structs.Allocation{ID: benchAllocID(n, i), ClientStatus: status,
					TaskStates: map[string]*structs.TaskState{"app": {State: "running", StartedAt: t0}}})
			}
			p, err := structs.Marshal(req)
			benchMust(b, err)
			reqs = append(reqs, req)
			payloads = append(payloads, p)
		}
	}
	check := func(b *testing.B, res any, err error) {
		if err != nil || len(res.(*structs.AllocUpdateResult).Applied) != benchAllocsPerNode {
			b.Fatal(err, res)
		}
	}
	var cpu0 time.Duration
	start := func() { cpu0 = cpuTime() }
	rate := func(b *testing.B, ops int) {
		n := float64(benchAllocsPerNode * ops)
		b.ReportMetric(n/b.Elapsed().Seconds(), "allocs/s")
		b.ReportMetric(n/(cpuTime()-cpu0).Seconds(), "allocs/cpu-s")
	}
	// Each sub-benchmark continues from the store the previous one left:
	// the statuses alternate, so every update is still a change.
	b.Run("apply", func(b *testing.B) {
		i := 0
		start()
		for b.Loop() {
			res, err := s.Apply(benchNextIndex(s), structs.AllocClientUpdateRequestType, payloads[i%len(payloads)])
			check(b, res, err)
			i++
		}
		rate(b, i)
	})
	b.Run("command", func(b *testing.B) {
		i := 0
		start()
		for b.Loop() {
			_, res, err := s.ApplyCommand(structs.AllocClientUpdateRequestType, reqs[i%len(reqs)])
			check(b, res, err)
			i++
		}
		rate(b, i)
	})
	b.Run("command+sink", func(b *testing.B) {
		var logged int
		s.SetCommandSink(func(_ uint64, _ structs.MessageType, p []byte) { logged += len(p) })
		defer s.SetCommandSink(nil)
		i := 0
		start()
		for b.Loop() {
			_, res, err := s.ApplyCommand(structs.AllocClientUpdateRequestType, reqs[i%len(reqs)])
			check(b, res, err)
			i++
		}
		rate(b, i)
	})
}

// BenchmarkApplyPlanResults applies plans of 100 decisions (20 placements
// replacing 20 lost stops, 20 disconnects, 20 reconnects, 10 in-place
// updates, 10 follow-ups) plus one eval, against 100,000 allocs.
func BenchmarkApplyPlanResults(b *testing.B) {
	s := benchStore(b, benchNodes, benchAllocsPerNode)
	total := benchNodes * benchAllocsPerNode
	id := func(k int) string { k %= total; return benchAllocID(k/benchAllocsPerNode, k%benchAllocsPerNode) }
	i := 0
	for b.Loop() {
		b.StopTimer()
		base := i * 80
		req := &structs.ApplyPlanResultsRequest{EvalID: "eval-0000", Now: t0.Add(time.Duration(i) * time.Second),
			Evals: []*structs.Evaluation{mockEval(fmt.Sprintf("fu-%d", i), structs.EvalTriggerMaxDisconnectTimeout)}}
		for k := 0; k < 20; k++ {
			prev := id(base + k)
			req.AllocsStopped = append(req.AllocsStopped, &structs.AllocStopUpdate{AllocID: prev, ClientStatus: structs.AllocClientStatusLost, Description: structs.AllocLost})
			a := mockAlloc(fmt.Sprintf("placed-%d-%d", i, k), benchNodeID(k))
			a.PreviousAllocation = prev
			req.AllocsPlaced = append(req.AllocsPlaced, a)
			req.AllocsDisconnected = append(req.AllocsDisconnected, &structs.AllocFollowupUpdate{AllocID: id(base + 20 + k), FollowupEvalID: fmt.Sprintf("fu-%d", i)})
			req.AllocsReconnected = append(req.AllocsReconnected, id(base+40+k))
		}
		for k := 0; k < 10; k++ {
			req.AllocsUpdated = append(req.AllocsUpdated, &structs.AllocInPlaceUpdate{AllocID: id(base + 60 + k), JobVersion: uint64(i)})
			req.AllocFollowups = append(req.AllocFollowups, &structs.AllocFollowupUpdate{AllocID: id(base + 70 + k), FollowupEvalID: "later"})
		}
		payload, err := structs.Marshal(req)
		benchMust(b, err)
		b.StartTimer()
		_, err = s.Apply(benchNextIndex(s), structs.ApplyPlanResultsRequestType, payload)
		benchMust(b, err)
		i++
	}
}

// BenchmarkSnapshot shows Snapshot() is O(1): the same cost at 1,000 and
// 100,000 allocs.
func BenchmarkSnapshot(b *testing.B) {
	for _, nodes := range []int{1, benchNodes} {
		b.Run(fmt.Sprintf("allocs=%d", nodes*benchAllocsPerNode), func(b *testing.B) {
			s := benchStore(b, nodes, benchAllocsPerNode)
			for b.Loop() {
				if s.Snapshot() == nil {
					b.Fatal("nil snapshot")
				}
			}
		})
	}
}

// BenchmarkSnapshotScan takes a snapshot and walks all 100,000 allocs.
func BenchmarkSnapshotScan(b *testing.B) {
	s := benchStore(b, benchNodes, benchAllocsPerNode)
	for b.Loop() {
		it, err := s.Snapshot().Allocs(nil)
		benchMust(b, err)
		n := 0
		for raw := it.Next(); raw != nil; raw = it.Next() {
			n++
		}
		if n != benchNodes*benchAllocsPerNode {
			b.Fatal(n)
		}
	}
	b.ReportMetric(float64(benchNodes*benchAllocsPerNode), "allocs/op")
}

// BenchmarkResidentBytesPerAlloc reports the live heap the store holds per
// allocation at 100,000 allocs (objects plus every index), measured once;
// the timed loop is a point read.
func BenchmarkResidentBytesPerAlloc(b *testing.B) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := benchStore(b, benchNodes, benchAllocsPerNode)
	runtime.GC()
	runtime.ReadMemStats(&after)
	perAlloc := float64(after.HeapAlloc-before.HeapAlloc) / float64(benchNodes*benchAllocsPerNode)
	for b.Loop() {
		if _, err := s.AllocByID(nil, benchAllocID(7, 7)); err != nil {
			b.Fatal(err)
		}
	}
	runtime.KeepAlive(s)
	b.ReportMetric(perAlloc, "bytes/alloc")
}
