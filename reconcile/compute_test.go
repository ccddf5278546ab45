package reconcile

import (
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

// Tests here pin the readings of SCENARIOS.md where its text leaves room;
// each names the sentence it settles.

// "within 5 s of the earliest" is inclusive: exactly 5 s apart is one
// FollowUp, 5 s + 1 ns is two.
func TestFollowUps_BatchWindowInclusive(t *testing.T) {
	failedAlloc := func(id string, idx int, finished time.Time) *structs.Allocation {
		a := mockAlloc(id, idx, "n1")
		a.ClientStatus = structs.AllocClientStatusFailed
		a.TaskStates = map[string]*structs.TaskState{"web": {FinishedAt: finished}}
		return a
	}
	job := mockJob(2)
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 1, Interval: time.Hour, Delay: time.Minute}
	now := at(10 * time.Minute)
	for _, tc := range []struct {
		gap  time.Duration
		want int
	}{{5 * time.Second, 1}, {5*time.Second + time.Nanosecond, 2}} {
		in := Input{Job: job, Now: now, Nodes: nodes(mockNode("n1", "ready")), Allocs: []*structs.Allocation{
			failedAlloc("a1", 0, now.Add(-30*time.Second)), failedAlloc("a2", 1, now.Add(-30*time.Second+tc.gap)),
		}}
		res := Compute(in)
		must.Len(t, tc.want, res.FollowUps, must.Sprintf("gap %s", tc.gap))
		must.Eq(t, now.Add(30*time.Second), res.FollowUps[0].WaitUntil)
		if tc.want == 1 {
			must.Eq(t, []string{"a1", "a2"}, res.FollowUps[0].AllocIDs)
		}
	}
}

// "If Job.Stop is true every remaining alloc is stopped": client-terminal
// allocs that are not server-terminal are stopped too (ClientStatus empty).
func TestJobStop_StopsClientTerminalAllocsToo(t *testing.T) {
	job := mockJob(2)
	job.Stop = true
	done := mockAlloc("a1", 0, "n1")
	done.ClientStatus = structs.AllocClientStatusComplete
	res := Compute(Input{Job: job, Allocs: []*structs.Allocation{done}, Nodes: nodes(mockNode("n1", "ready")), Now: at(time.Minute)})
	must.Eq(t, []Stop{{AllocID: "a1"}}, stripStops(res.Stop))
	must.SliceEmpty(t, res.Place)
}

// Step 3 places a replacement for a disconnecting alloc only when nothing
// replaces it yet: a live replacement already fills its slot.
func TestDisconnecting_NoSecondReplacement(t *testing.T) {
	job := mockJob(1)
	orig := mockAlloc("a1", 0, "n1")
	repl := mockAlloc("a2", 0, "n2")
	repl.PreviousAllocation = "a1"
	res := Compute(Input{Job: job, Allocs: []*structs.Allocation{orig, repl},
		Nodes: nodes(mockNode("n1", "disconnected"), mockNode("n2", "ready")), Now: at(time.Minute)})
	must.Eq(t, []string{"a1"}, decisionIDs(res.Disconnect))
	must.SliceEmpty(t, res.Place)
	must.SliceEmpty(t, res.Stop)
}

// A row-4 alloc that is reschedulable but not yet due, with no follow-up of
// its own (FollowupEvalID empty), gets an alloc-reschedule FollowUp at
// lastUnknown + Delay; the "already has one" rule only suppresses it.
func TestRow4_NotDueGetsRescheduleFollowUp(t *testing.T) {
	job := mockJob(1)
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 2, Interval: time.Hour, Delay: time.Minute}
	a := withStates(mockAlloc("a1", 0, "n1"), structs.AllocClientStatusUnknown, at(9*time.Minute+30*time.Second))
	a.ClientStatus = structs.AllocClientStatusUnknown
	in := Input{Job: job, Allocs: []*structs.Allocation{a}, Nodes: nodes(mockNode("n1", "disconnected")), Now: at(10 * time.Minute), EvalID: "e1"}
	res := Compute(in)
	must.SliceEmpty(t, res.Place)
	must.Len(t, 1, res.FollowUps)
	must.Eq(t, structs.EvalTriggerAllocReschedule, res.FollowUps[0].TriggeredBy)
	must.Eq(t, at(10*time.Minute+30*time.Second), res.FollowUps[0].WaitUntil)

	a.FollowupEvalID = "e1" // this evaluation is its follow-up, fired early
	must.Len(t, 1, Compute(in).FollowUps)
	a.FollowupEvalID = "e0"
	must.SliceEmpty(t, Compute(in).FollowUps)
}

// Lost allocs are not live for anyone else's decision: an unknown original
// whose replacement sits on a down node gets a new replacement at once.
func TestLostReplacementReplacesNothing(t *testing.T) {
	job := mockJob(1)
	orig := withStates(mockAlloc("a1", 0, "n1"), structs.AllocClientStatusUnknown, at(9*time.Minute))
	orig.ClientStatus = structs.AllocClientStatusUnknown
	repl := mockAlloc("a2", 0, "n2")
	repl.PreviousAllocation = "a1"
	res := Compute(Input{Job: job, Allocs: []*structs.Allocation{orig, repl},
		Nodes: nodes(mockNode("n1", "disconnected"), mockNode("n2", "down")), Now: at(10 * time.Minute)})
	must.Eq(t, []Stop{{AllocID: "a2", ClientStatus: "lost"}}, stripStops(res.Stop))
	must.Len(t, 1, res.Place)
	must.Eq(t, "a1", res.Place[0].PreviousAllocation, must.Sprint("placed by row 4 for the waiting original"))
}

// A reconnecting failed alloc that is not yet due is reconnected with an
// alloc-reschedule FollowUp even when a FollowupEvalID is left over from its
// disconnect: the Reconnect clears that ID.
func TestReconnectFailed_NotDueAlwaysGetsFollowUp(t *testing.T) {
	job := mockJob(1)
	job.TaskGroups[0].Disconnect.Replace = new(bool)
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 2, Interval: time.Hour, Delay: time.Minute}
	a := withStates(mockAlloc("a1", 0, "n1"), structs.AllocClientStatusUnknown, at(8*time.Minute))
	a.ClientStatus = structs.AllocClientStatusFailed
	a.TaskStates = map[string]*structs.TaskState{"web": {FinishedAt: at(9*time.Minute + 30*time.Second)}}
	a.FollowupEvalID = "timeout-eval"
	res := Compute(Input{Job: job, Allocs: []*structs.Allocation{a}, Nodes: nodes(mockNode("n1", "ready")), Now: at(10 * time.Minute), EvalID: "e2"})
	must.Eq(t, []string{"a1"}, decisionIDs(res.Reconnect))
	must.Len(t, 1, res.FollowUps)
	must.Eq(t, at(10*time.Minute+30*time.Second), res.FollowUps[0].WaitUntil)
	must.Eq(t, []string{"a1"}, res.FollowUps[0].AllocIDs)
}

// When a replacement is itself reconnecting, the original is decided first
// and the replacement after; every reconnecting alloc ends in exactly one
// of Stop or Reconnect, whatever the input order.
func TestReconnectingChain_OriginalFirst(t *testing.T) {
	for _, strategy := range []string{structs.ReconcileOptionKeepOriginal, structs.ReconcileOptionKeepReplacement} {
		job := mockJob(1)
		job.TaskGroups[0].Disconnect.Reconcile = strategy
		// IDs sort the replacement first, so input order alone would be wrong.
		orig := withStates(mockAlloc("z-orig", 0, "n1"), structs.AllocClientStatusUnknown, at(time.Minute))
		orig.NextAllocation = "a-repl"
		repl := withStates(mockAlloc("a-repl", 0, "n2"), structs.AllocClientStatusUnknown, at(5*time.Minute))
		repl.PreviousAllocation = "z-orig"
		res := Compute(Input{Job: job, Allocs: []*structs.Allocation{repl, orig},
			Nodes: nodes(mockNode("n1", "ready"), mockNode("n2", "ready")), Now: at(10 * time.Minute)})
		winner, loser := "z-orig", "a-repl"
		if strategy == structs.ReconcileOptionKeepReplacement {
			winner, loser = loser, winner
		}
		must.Eq(t, []string{winner}, decisionIDs(res.Reconnect), must.Sprint(strategy))
		must.Eq(t, []string{loser}, stopIDs(res), must.Sprint(strategy))
		must.SliceEmpty(t, res.Place)
	}
}

// Extras: on equal name index and equal original-ness, the larger ID goes
// first; a placement goes before an existing alloc.
func TestExtras_TieBreaks(t *testing.T) {
	job := mockJob(1)
	a := mockAlloc("a1", 0, "n1")
	b := mockAlloc("a2", 0, "n1")
	res := Compute(Input{Job: job, Allocs: []*structs.Allocation{a, b}, Nodes: nodes(mockNode("n1", "ready")), Now: at(time.Minute)})
	must.Eq(t, []string{"a2"}, stopIDs(res))

	// Count 0 with a lost alloc: nothing is placed at all.
	job = mockJob(0)
	lost := mockAlloc("a1", 0, "gone")
	res = Compute(Input{Job: job, Allocs: []*structs.Allocation{lost}, Nodes: nodes(), Now: at(time.Minute)})
	must.Eq(t, []Stop{{AllocID: "a1", ClientStatus: "lost"}}, stripStops(res.Stop))
	must.SliceEmpty(t, res.Place)
}

// longest_running: a task with Restarts > 0 but no LastRestart falls back
// to StartedAt rather than counting as missing.
func TestAllocStart_RestartWithoutTimeUsesStartedAt(t *testing.T) {
	a := &structs.Allocation{TaskStates: map[string]*structs.TaskState{
		"x": {Restarts: 2, StartedAt: at(time.Minute)},
		"y": {Restarts: 1, StartedAt: at(0), LastRestart: at(3 * time.Minute)},
		"z": {},
	}}
	must.Eq(t, at(time.Minute), allocStart(a))
}

// System jobs: a client-terminal alloc on a down node is left alone (it
// finished; there is nothing to mark lost), and a complete alloc whose node
// is back is not reconnected, only replaced, so no alloc is both.
func TestSystem_ClientTerminalAllocs(t *testing.T) {
	job := mockJob(1)
	job.Type = structs.JobTypeSystem
	down := mockAlloc("a1", 0, "n1")
	down.ClientStatus = structs.AllocClientStatusComplete
	back := withStates(mockAlloc("a2", 0, "n2"), structs.AllocClientStatusUnknown, at(time.Minute))
	back.ClientStatus = structs.AllocClientStatusComplete
	res := Compute(Input{Job: job, Allocs: []*structs.Allocation{down, back},
		Nodes: nodes(mockNode("n1", "down"), mockNode("n2", "ready")), Now: at(10 * time.Minute)})
	must.SliceEmpty(t, res.Stop)
	must.SliceEmpty(t, res.Reconnect)
	must.Eq(t, []Placement{{Name: "web.web[0]", TaskGroup: "web", PreviousAllocation: "a2", NodeID: "n2"}}, stripPlaces(res.Place))
}

func stripPlaces(ps []Placement) []Placement {
	out := make([]Placement, len(ps))
	for i, p := range ps {
		p.Reason = ""
		out[i] = p
	}
	return out
}
