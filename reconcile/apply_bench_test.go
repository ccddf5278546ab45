package reconcile

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// BenchmarkApply_100Decisions measures Apply of a 100-decision result: 20
// placements (DefaultPlacer over 1,000 nodes) replacing 20 lost allocs (20
// stops), 20 disconnects with one follow-up, 19 reconnects and 20 in-place
// updates. "plan" builds the command only; "store" also writes it to a
// real state.Store (msgpack encode, decode, one memdb transaction).
func BenchmarkApply_100Decisions(b *testing.B) {
	s, in, res, nodes := abSetup(b)
	if n := res.decisions(); n != 100 {
		b.Fatalf("result has %d decisions", n)
	}
	b.Run("plan", func(b *testing.B) {
		b.ReportAllocs()
		cfg := ApplyConfig{NewID: apSeqIDs("p")}
		for b.Loop() {
			if _, _, err := buildPlan(nodes, in, res, cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		// Re-applying the same decisions is valid: stops, disconnects,
		// reconnects and updates repeat; placements get fresh IDs.
		cfg := ApplyConfig{NewID: apSeqIDs("s")}
		for b.Loop() {
			out, err := Apply(s, nodes, in, res, cfg)
			if err != nil || out.Placed != 20 {
				b.Fatalf("placed %d: %v", out.Placed, err)
			}
		}
	})
}

func abSetup(b *testing.B) (*state.Store, Input, *Results, []*structs.Node) {
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
	for i := range 1000 {
		do(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: apNode(fmt.Sprintf("node-%04d", i), structs.NodeStatusReady), UpdatedAt: wkT0.UnixNano()})
	}
	job := wkJob("web", 100)
	job.Version = 1
	do(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, UpdatedAt: wkT0.UnixNano()})
	var allocs []*structs.Allocation
	for i := range 100 {
		a := apAlloc("a"+strconv.Itoa(100+i), fmt.Sprintf("web.web[%d]", i), fmt.Sprintf("node-%04d", i*7), structs.AllocClientStatusRunning)
		a.JobID = "web"
		allocs = append(allocs, a)
	}
	do(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: wkT0, AllocsPlaced: allocs})
	snap := s.Snapshot()
	stored, err := snap.AllocsByJob(nil, "", "web")
	if err != nil {
		b.Fatal(err)
	}
	j, err := snap.JobByID(nil, "", "web")
	if err != nil {
		b.Fatal(err)
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		b.Fatal(err)
	}
	now := wkT0.Add(time.Minute)
	in := Input{Job: j, Allocs: stored, Now: now}
	res := newResults()
	fu := FollowUp{TriggeredBy: structs.EvalTriggerMaxDisconnectTimeout, WaitUntil: now.Add(5 * time.Minute), TaskGroup: "web"}
	for i, a := range stored {
		switch {
		case i < 20:
			res.Stop = append(res.Stop, Stop{AllocID: a.ID, ClientStatus: structs.AllocClientStatusLost, Description: structs.AllocLost})
			res.Place = append(res.Place, Placement{Name: a.Name, TaskGroup: "web", PreviousAllocation: a.ID})
		case i < 40:
			res.Disconnect = append(res.Disconnect, AllocDecision{AllocID: a.ID})
			fu.AllocIDs = append(fu.AllocIDs, a.ID)
		case i < 59:
			res.Reconnect = append(res.Reconnect, AllocDecision{AllocID: a.ID})
		case i < 79:
			res.Update = append(res.Update, AllocDecision{AllocID: a.ID})
		}
	}
	res.FollowUps = append(res.FollowUps, fu)
	return s, in, res, nodes
}
