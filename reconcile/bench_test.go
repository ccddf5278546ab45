package reconcile

import (
	"fmt"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// bigInput is one group of 10,000 allocs on 1,000 nodes (10 per node):
// nodes 0–99 (10%) are disconnected, nodes 100–149 (5%) are back after a
// disconnect, and each alloc on those has a running replacement on a
// healthy node. Count covers every slot, so the decisions are 1,000
// disconnects with their replacements and one batched follow-up, and 500
// reconnect picks.
func bigInput() Input {
	const nNodes, perNode = 1000, 10
	job := mockJob(0)
	ns := make(map[string]*structs.Node, nNodes)
	for n := 0; n < nNodes; n++ {
		status := structs.NodeStatusReady
		if n < 100 {
			status = structs.NodeStatusDisconnected
		}
		id := fmt.Sprintf("n%04d", n)
		ns[id] = mockNode(id, status)
	}
	allocs := make([]*structs.Allocation, 0, nNodes*perNode)
	now := at(time.Hour)
	idx := 0
	for n := 0; len(allocs) < nNodes*perNode; n = (n + 1) % nNodes {
		node := fmt.Sprintf("n%04d", n)
		a := mockAlloc(fmt.Sprintf("a%05d", len(allocs)), idx, node)
		idx++
		allocs = append(allocs, a)
		if n >= 100 && n < 150 {
			withStates(a, structs.AllocClientStatusUnknown, now.Add(-2*time.Minute))
			r := mockAlloc(fmt.Sprintf("r%05d", len(allocs)), int(a.Name[len("web.web[")]-'0'), fmt.Sprintf("n%04d", 500+n))
			r.Name = a.Name
			r.PreviousAllocation = a.ID
			a.NextAllocation = r.ID
			allocs = append(allocs, r)
		}
	}
	job.TaskGroups[0].Count = idx
	return Input{Job: job, Allocs: allocs, Nodes: ns, Now: now, EvalID: "bench"}
}

func BenchmarkCompute_10kAllocs(b *testing.B) {
	in := bigInput()
	res := Compute(in)
	if len(res.Disconnect) != 1000 || len(res.Place) != 1000 || len(res.Reconnect)+countStops(res, structs.AllocReconnected) < 500 {
		b.Fatalf("unexpected decisions: %d disconnect, %d place, %d reconnect, %d stop",
			len(res.Disconnect), len(res.Place), len(res.Reconnect), len(res.Stop))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		Compute(in)
	}
}

func countStops(r *Results, desc string) int {
	n := 0
	for _, s := range r.Stop {
		if s.Description == desc {
			n++
		}
	}
	return n
}

// quietInput is 10,000 healthy running allocs: nothing to decide.
func quietInput() Input {
	in := bigInput()
	for _, n := range in.Nodes {
		n.Status = structs.NodeStatusReady
	}
	allocs := in.Allocs[:0:0]
	for _, a := range in.Allocs {
		if a.PreviousAllocation == "" {
			a.AllocStates, a.NextAllocation = nil, ""
			allocs = append(allocs, a)
		}
	}
	in.Allocs = allocs
	in.Job.TaskGroups[0].Count = len(allocs)
	return in
}

// Allocations grow with decisions, not with allocs: with no decisions to
// make, 10,000 allocs cost no more allocations than 1,000 (a fixed handful;
// the race detector adds a few of its own, so no absolute bound is asserted).
func TestCompute_AllocationsFollowDecisions(t *testing.T) {
	in := quietInput()
	res := Compute(in)
	if n := len(res.Place) + len(res.Stop) + len(res.Disconnect) + len(res.Reconnect) + len(res.Update) + len(res.FollowUps); n != 0 {
		t.Fatalf("quiet input made %d decisions: %s", n, FormatTable(res))
	}
	small := in
	small.Allocs = in.Allocs[:1000]
	small.Job = in.Job.Copy()
	small.Job.TaskGroups[0].Count = len(small.Allocs)
	if res := Compute(small); len(res.Place)+len(res.Stop) != 0 {
		t.Fatalf("quiet 1,000-alloc input made decisions: %s", FormatTable(res))
	}
	big := testing.AllocsPerRun(5, func() { Compute(in) })
	few := testing.AllocsPerRun(5, func() { Compute(small) })
	if big > few+16 || big > 64 { // -race wobbles by a few; growth with allocs would be thousands
		t.Fatalf("Compute made %.0f allocations for 10,000 quiet allocs and %.0f for 1,000: allocations follow allocs", big, few)
	}
}

func BenchmarkCompute_10kAllocsQuiet(b *testing.B) {
	in := quietInput()
	b.ReportAllocs()
	for b.Loop() {
		Compute(in)
	}
}
