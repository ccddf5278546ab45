package reconcile

import (
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

// The four regression stories of issue 5.

// An alloc that reconnected once (unknown, then running) is an ordinary
// running alloc: on the next job update it is updated like any other and
// never treated as reconnecting again.
func TestRegression_ReconnectedOnceIsNotReconnectingOnJobUpdate(t *testing.T) {
	job := mockJob(2)
	job.Version = 1
	a1 := mockAlloc("a1", 0, "n1")
	a2 := withStates(mockAlloc("a2", 1, "n2"),
		structs.AllocClientStatusUnknown, at(time.Minute),
		structs.AllocClientStatusRunning, at(3*time.Minute))
	in := Input{Job: job, Allocs: []*structs.Allocation{a1, a2}, Nodes: nodes(mockNode("n1", "ready"), mockNode("n2", "ready")), Now: at(10 * time.Minute)}

	res := Compute(in)
	must.SliceEmpty(t, res.Reconnect)
	must.Eq(t, []string{"a1", "a2"}, stopIDs(res))
	for _, s := range res.Stop {
		must.Eq(t, structs.AllocUpdating, s.Description)
	}
	must.Len(t, 2, res.Place)
	must.Eq(t, "a1", res.Place[0].PreviousAllocation)
	must.Eq(t, "a2", res.Place[1].PreviousAllocation)

	job.UpdateInPlace = true
	res = Compute(in)
	must.SliceEmpty(t, res.Reconnect)
	must.SliceEmpty(t, res.Stop)
	must.Eq(t, []string{"a1", "a2"}, decisionIDs(res.Update))
}

// A stopped job's unknown alloc is never reconnected, whether its node is
// back (reconnecting), still unknown (awaiting sync), or it is already
// desired stop.
func TestRegression_StoppedJobUnknownAllocNeverReconnected(t *testing.T) {
	job := mockJob(3)
	job.Stop = true
	unknownAt := at(8 * time.Minute)
	back := withStates(mockAlloc("a1", 0, "n1"), structs.AllocClientStatusUnknown, unknownAt)
	waiting := withStates(mockAlloc("a2", 1, "n1"), structs.AllocClientStatusUnknown, unknownAt)
	waiting.ClientStatus = structs.AllocClientStatusUnknown
	stopped := withStates(mockAlloc("a3", 2, "n1"), structs.AllocClientStatusUnknown, unknownAt)
	stopped.DesiredStatus = structs.AllocDesiredStatusStop
	in := Input{Job: job, Allocs: []*structs.Allocation{back, waiting, stopped}, Nodes: nodes(mockNode("n1", "ready")), Now: at(10 * time.Minute)}

	res := Compute(in)
	must.SliceEmpty(t, res.Reconnect)
	must.SliceEmpty(t, res.Place)
	must.Eq(t, []string{"a1", "a2"}, stopIDs(res)) // a3 is already being stopped

	// With the job running again, the desired-stop alloc still is not.
	job.Stop = false
	res = Compute(in)
	must.Eq(t, []string{"a1"}, decisionIDs(res.Reconnect))
	for _, s := range res.Stop {
		must.NotEq(t, "a3", s.AllocID)
	}
}

// A failed original whose replacements failed too is stopped as failed,
// and exactly one fresh alloc is placed (rescheduling the newest failure).
func TestRegression_FailedOriginalWithFailedReplacements(t *testing.T) {
	job := mockJob(1)
	orig := withStates(mockAlloc("a1", 0, "n1"), structs.AllocClientStatusUnknown, at(2*time.Minute))
	orig.ClientStatus = structs.AllocClientStatusFailed
	orig.NextAllocation = "a2"
	r1 := mockAlloc("a2", 0, "n2")
	r1.ClientStatus = structs.AllocClientStatusFailed
	r1.PreviousAllocation, r1.NextAllocation = "a1", "a3"
	r2 := mockAlloc("a3", 0, "n2")
	r2.ClientStatus = structs.AllocClientStatusFailed
	r2.PreviousAllocation = "a2"
	r2.RescheduleTracker = &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{{RescheduleTime: at(5 * time.Minute).UnixNano()}}}
	in := Input{Job: job, Allocs: []*structs.Allocation{orig, r1, r2}, Nodes: nodes(mockNode("n1", "ready"), mockNode("n2", "ready")), Now: at(10 * time.Minute)}

	res := Compute(in)
	must.SliceEmpty(t, res.Reconnect)
	must.Eq(t, []Stop{{AllocID: "a1", ClientStatus: "failed"}, {AllocID: "a3"}}, stripStops(res.Stop))
	must.Len(t, 1, res.Place)
	must.Eq(t, "web.web[0]", res.Place[0].Name)
	must.Eq(t, "a3", res.Place[0].PreviousAllocation)

	// With only one failed replacement the same holds.
	orig.NextAllocation = "a2"
	r1.NextAllocation = ""
	res = Compute(Input{Job: job, Allocs: []*structs.Allocation{orig, r1}, Nodes: in.Nodes, Now: in.Now})
	must.Eq(t, []Stop{{AllocID: "a1", ClientStatus: "failed"}, {AllocID: "a2"}}, stripStops(res.Stop))
	must.Len(t, 1, res.Place)
	must.Eq(t, "a2", res.Place[0].PreviousAllocation)
}

// An alloc that disconnects a second time is handled like the first time:
// Disconnect, a timeout follow-up that owns its FollowupEvalID (the old one
// is left over), a replacement; and its disconnect window is measured from
// the second time it went unknown.
func TestRegression_DisconnectTwiceLikeTheFirst(t *testing.T) {
	job := mockJob(1)
	ns := nodes(mockNode("n1", "disconnected"), mockNode("n2", "ready"))
	now := at(20 * time.Minute)
	first := mockAlloc("a1", 0, "n1")
	second := withStates(mockAlloc("a1", 0, "n1"),
		structs.AllocClientStatusUnknown, at(time.Minute),
		structs.AllocClientStatusRunning, at(3*time.Minute))
	second.FollowupEvalID = "eval-from-first-disconnect"

	r1 := Compute(Input{Job: job, Allocs: []*structs.Allocation{first}, Nodes: ns, Now: now, EvalID: "e2"})
	r2 := Compute(Input{Job: job, Allocs: []*structs.Allocation{second}, Nodes: ns, Now: now, EvalID: "e2"})
	must.True(t, Equal(r1, r2), must.Sprint(Diff(r1, r2)))
	must.Eq(t, []string{"a1"}, decisionIDs(r2.Disconnect))
	must.Len(t, 1, r2.FollowUps)
	must.Eq(t, now.Add(5*time.Minute), r2.FollowUps[0].WaitUntil)
	must.Eq(t, []string{"a1"}, r2.FollowUps[0].AllocIDs)
	must.Len(t, 1, r2.Place)

	// After the second disconnect was applied, expiry counts from it.
	second.ClientStatus = structs.AllocClientStatusUnknown
	withStates(second, structs.AllocClientStatusUnknown, now)
	repl := mockAlloc("a2", 0, "n2")
	repl.PreviousAllocation = "a1"
	allocs := []*structs.Allocation{second, repl}
	res := Compute(Input{Job: job, Allocs: allocs, Nodes: ns, Now: now.Add(5*time.Minute - time.Second)})
	must.SliceEmpty(t, res.Stop)
	res = Compute(Input{Job: job, Allocs: allocs, Nodes: ns, Now: now.Add(5 * time.Minute)})
	must.Eq(t, []Stop{{AllocID: "a1", ClientStatus: "lost"}}, stripStops(res.Stop))
	must.SliceEmpty(t, res.Place)
}

// stripStops keeps only the compared fields of Stop decisions.
func stripStops(ss []Stop) []Stop {
	out := make([]Stop, len(ss))
	for i, s := range ss {
		out[i] = Stop{AllocID: s.AllocID, ClientStatus: s.ClientStatus}
	}
	return out
}
