package reconcile

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// apNow is the server time the apply tests decide at.
var apNow = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

// apSeqIDs returns a deterministic ID generator: prefix-1, prefix-2, ...
func apSeqIDs(prefix string) func() string {
	n := 0
	return func() string {
		n++
		return prefix + "-" + strconv.Itoa(n)
	}
}

// apWriter records every command and forwards it to a store (if any).
type apWriter struct {
	store *state.Store
	types []structs.MessageType
	reqs  []any
}

func (w *apWriter) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	w.types = append(w.types, t)
	w.reqs = append(w.reqs, req)
	if w.store == nil {
		return uint64(len(w.reqs)), nil, nil
	}
	return w.store.ApplyCommand(t, req)
}

func apMust(t testing.TB, s *state.Store, typ structs.MessageType, req any) uint64 {
	t.Helper()
	idx, _, err := s.ApplyCommand(typ, req)
	must.NoError(t, err)
	return idx
}

func apNode(id, status string) *structs.Node {
	return &structs.Node{ID: id, SecretID: "s-" + id, Status: status, SchedulingEligibility: structs.NodeSchedulingEligible}
}

func apJob() *structs.Job {
	return &structs.Job{ID: "web", Namespace: structs.DefaultNamespace, Type: structs.JobTypeService, Priority: 70,
		Version: 2, TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 4,
			Disconnect:       &structs.DisconnectStrategy{LostAfter: 5 * time.Minute},
			ReschedulePolicy: &structs.ReschedulePolicy{Attempts: 3, Interval: time.Hour, Delay: 30 * time.Second}}}}
}

func apAlloc(id, name, node, status string) *structs.Allocation {
	return &structs.Allocation{ID: id, Namespace: structs.DefaultNamespace, EvalID: "eval-0", Name: name, NodeID: node,
		JobID: "web", JobVersion: 2, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: status,
		Metrics: &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: node, NormScore: 0.5}}}}
}

// apFixture is a store holding one job with an alloc for every kind of
// decision, and hand-built Results covering every decision kind:
//
//	a-lost     on down node nd, running        -> Stop lost + Place web[0]
//	a-disc     on disconnected node nx, running -> Disconnect + Place web[1]
//	a-old      on n2, running, job version 1   -> Stop (update) + Place web[2]
//	a-rec      on n1, running, last state unknown -> Reconnect
//	a-inplace  on n1, running, version 1       -> Update
//	a-failed   on n1, failed                    -> alloc-reschedule follow-up
//	(new)                                        -> Place web[5]
//
// Nodes: n1, n2, n3 ready (n3 empty), nd down, nx disconnected, ndrain
// draining, ninel ineligible.
func apFixture(t testing.TB) (*state.Store, Input, *Results) {
	t.Helper()
	s, err := state.NewStore(nil)
	must.NoError(t, err)
	for _, n := range []*structs.Node{apNode("n1", structs.NodeStatusReady), apNode("n2", structs.NodeStatusReady),
		apNode("n3", structs.NodeStatusReady), apNode("nd", structs.NodeStatusDown),
		apNode("nx", structs.NodeStatusDisconnected)} {
		apMust(t, s, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n, UpdatedAt: apNow.UnixNano()})
	}
	drain := apNode("ndrain", structs.NodeStatusReady)
	drain.Drain = true
	inel := apNode("ninel", structs.NodeStatusReady)
	inel.SchedulingEligibility = structs.NodeSchedulingIneligible
	for _, n := range []*structs.Node{drain, inel} {
		apMust(t, s, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n, UpdatedAt: apNow.UnixNano()})
	}
	apMust(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: apJob(),
		Eval: &structs.Evaluation{ID: "eval-1", JobID: "web", Type: structs.JobTypeService,
			TriggeredBy: structs.EvalTriggerNodeUpdate, Status: structs.EvalStatusPending}})

	lost := apAlloc("a-lost", "web.web[0]", "nd", structs.AllocClientStatusRunning)
	lost.RescheduleTracker = &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{
		{RescheduleTime: apNow.Add(-20 * time.Minute).UnixNano(), PrevAllocID: "a-older", PrevNodeID: "n9"}}}
	old := apAlloc("a-old", "web.web[2]", "n2", structs.AllocClientStatusRunning)
	old.JobVersion = 1
	inplace := apAlloc("a-inplace", "web.web[3]", "n1", structs.AllocClientStatusRunning)
	inplace.JobVersion = 1
	rec := apAlloc("a-rec", "web.web[4]", "n1", structs.AllocClientStatusUnknown)
	failed := apAlloc("a-failed", "web.web[6]", "n1", structs.AllocClientStatusFailed)
	apMust(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: apNow.Add(-10 * time.Minute),
		AllocsPlaced: []*structs.Allocation{lost, apAlloc("a-disc", "web.web[1]", "nx", structs.AllocClientStatusRunning),
			old, inplace, rec, failed}})
	// a-rec went unknown earlier; its client has since reported running.
	apMust(t, s, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: apNow.Add(-5 * time.Minute),
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a-rec", FollowupEvalID: "gone"}}})
	apMust(t, s, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: "n1",
		Alloc: []*structs.Allocation{{ID: "a-rec", ClientStatus: structs.AllocClientStatusRunning}}, UpdatedAt: apNow.UnixNano()})

	snap := s.Snapshot()
	job, err := snap.JobByID(nil, "", "web")
	must.NoError(t, err)
	allocs, err := snap.AllocsByJob(nil, "", "web")
	must.NoError(t, err)
	in := Input{Job: job, Allocs: allocs, Nodes: map[string]*structs.Node{}, Now: apNow, EvalID: "eval-1"}
	for _, a := range allocs {
		n, err := snap.NodeByID(nil, a.NodeID)
		must.NoError(t, err)
		in.Nodes[a.NodeID] = n
	}
	res := &Results{
		Place: []Placement{
			{Name: "web.web[0]", TaskGroup: "web", PreviousAllocation: "a-lost", Reason: "lost"},
			{Name: "web.web[1]", TaskGroup: "web", PreviousAllocation: "a-disc", Reason: "disconnecting"},
			{Name: "web.web[2]", TaskGroup: "web", PreviousAllocation: "a-old", Reason: "job update"},
			{Name: "web.web[5]", TaskGroup: "web", Reason: "count"},
		},
		Stop: []Stop{
			{AllocID: "a-lost", ClientStatus: structs.AllocClientStatusLost, Description: structs.AllocLost},
			{AllocID: "a-old", Description: structs.AllocUpdating},
		},
		Disconnect: []AllocDecision{{AllocID: "a-disc"}},
		Reconnect:  []AllocDecision{{AllocID: "a-rec"}},
		Update:     []AllocDecision{{AllocID: "a-inplace"}},
		FollowUps: []FollowUp{
			{TriggeredBy: structs.EvalTriggerAllocReschedule, WaitUntil: apNow.Add(30 * time.Second), TaskGroup: "web",
				AllocIDs: []string{"a-disc", "a-failed"}, Reason: "delayed reschedule"},
			{TriggeredBy: structs.EvalTriggerMaxDisconnectTimeout, WaitUntil: apNow.Add(5 * time.Minute), TaskGroup: "web",
				AllocIDs: []string{"a-disc"}, Reason: "lost after 5m"},
		},
	}
	return s, in, res
}

func apAllNodes(t testing.TB, s *state.Store) []*structs.Node {
	t.Helper()
	nodes, err := s.Nodes(nil)
	must.NoError(t, err)
	return nodes
}

func TestApply_CommandHasEveryField(t *testing.T) {
	s, in, res := apFixture(t)
	w := &apWriter{}
	out, err := Apply(w, apAllNodes(t, s), in, res, ApplyConfig{NewID: apSeqIDs("id")})
	must.NoError(t, err)
	must.Eq(t, []structs.MessageType{structs.ApplyPlanResultsRequestType}, w.types)

	now := apNow.UnixNano()
	eval := func(id, trigger string, at time.Time, why string) *structs.Evaluation {
		return &structs.Evaluation{ID: id, Namespace: "default", Priority: 70, Type: structs.JobTypeService,
			TriggeredBy: trigger, JobID: "web", Status: structs.EvalStatusPending, StatusDescription: why,
			WaitUntil: at, PreviousEval: "eval-1", CreateTime: now, ModifyTime: now}
	}
	placed := func(id, name, node, prev string, score float64, tr *structs.RescheduleTracker) *structs.Allocation {
		return &structs.Allocation{ID: id, Namespace: "default", EvalID: "eval-1", Name: name, NodeID: node,
			JobID: "web", JobVersion: 2, TaskGroup: "web", DesiredStatus: structs.AllocDesiredStatusRun,
			ClientStatus: structs.AllocClientStatusPending, PreviousAllocation: prev,
			Metrics:           &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: node, NormScore: score}}},
			RescheduleTracker: tr}
	}
	want := &structs.ApplyPlanResultsRequest{
		EvalID: "eval-1", Namespace: "default", JobID: "web", Now: apNow,
		// Live allocs before placing: n1 has a-rec and a-inplace (a-failed
		// is terminal), n2 none once a-old stops, n3 none. Placements go in
		// Results order, each counting the ones before it.
		AllocsPlaced: []*structs.Allocation{
			// replaces lost a-lost: its event plus a new one
			placed("id-3", "web.web[0]", "n2", "a-lost", 1, &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{
				{RescheduleTime: apNow.Add(-20 * time.Minute).UnixNano(), PrevAllocID: "a-older", PrevNodeID: "n9"},
				{RescheduleTime: now, PrevAllocID: "a-lost", PrevNodeID: "nd", Delay: 30 * time.Second}}}),
			// replaces disconnecting (soon unknown) a-disc
			placed("id-4", "web.web[1]", "n3", "a-disc", 1, &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{
				{RescheduleTime: now, PrevAllocID: "a-disc", PrevNodeID: "nx", Delay: 30 * time.Second}}}),
			// job update: not a reschedule; n2 is excluded (a-old's node)
			placed("id-5", "web.web[2]", "n3", "a-old", 0.5, nil),
			placed("id-6", "web.web[5]", "n2", "", 0.5, nil),
		},
		AllocsStopped: []*structs.AllocStopUpdate{
			{AllocID: "a-lost", ClientStatus: structs.AllocClientStatusLost, Description: structs.AllocLost},
			{AllocID: "a-old", Description: structs.AllocUpdating},
		},
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: "a-disc", FollowupEvalID: "id-2"}},
		AllocsReconnected:  []string{"a-rec"},
		AllocsUpdated:      []*structs.AllocInPlaceUpdate{{AllocID: "a-inplace", JobVersion: 2}},
		AllocFollowups:     []*structs.AllocFollowupUpdate{{AllocID: "a-failed", FollowupEvalID: "id-1"}},
		Evals: []*structs.Evaluation{
			eval("id-1", structs.EvalTriggerAllocReschedule, apNow.Add(30*time.Second), "delayed reschedule"),
			eval("id-2", structs.EvalTriggerMaxDisconnectTimeout, apNow.Add(5*time.Minute), "lost after 5m"),
		},
	}
	must.Eq(t, want, w.reqs[0].(*structs.ApplyPlanResultsRequest))
	must.Eq(t, ApplyOutcome{Index: 1, Placed: 4, FollowUpEvalIDs: []string{"id-1", "id-2"},
		PlacedAllocs: want.AllocsPlaced}, out) // every placement found a node, in Results.Place order
}

func TestApply_StoreEndsAsExpected(t *testing.T) {
	s, in, res := apFixture(t)
	out, err := Apply(s, apAllNodes(t, s), in, res, ApplyConfig{NewID: apSeqIDs("id")})
	must.NoError(t, err)
	must.Eq(t, s.LatestIndex(), out.Index)
	idx := out.Index

	get := func(id string) *structs.Allocation {
		a, err := s.AllocByID(nil, id)
		must.NoError(t, err)
		must.NotNil(t, a, must.Sprintf("alloc %s", id))
		return a
	}
	lastState := func(a *structs.Allocation) structs.AllocState { return *a.AllocStates[len(a.AllocStates)-1] }

	// Links both ways.
	for prev, next := range map[string]string{"a-lost": "id-3", "a-disc": "id-4", "a-old": "id-5"} {
		must.Eq(t, next, get(prev).NextAllocation)
		must.Eq(t, prev, get(next).PreviousAllocation)
	}
	// Replacements start clean: never reconnecting, pending, current version.
	for _, id := range []string{"id-3", "id-4", "id-5", "id-6"} {
		a := get(id)
		must.SliceEmpty(t, a.AllocStates)
		must.False(t, a.NeedsToReconnect())
		must.Eq(t, structs.AllocClientStatusPending, a.ClientStatus)
		must.Eq(t, structs.AllocDesiredStatusRun, a.DesiredStatus)
		must.Eq(t, uint64(2), a.JobVersion)
		must.Eq(t, idx, a.CreateIndex)
		must.Eq(t, apNow.UnixNano(), a.CreateTime)
	}
	must.Eq(t, 2, len(get("id-3").RescheduleTracker.Events))

	lost := get("a-lost")
	must.Eq(t, structs.AllocDesiredStatusStop, lost.DesiredStatus)
	must.Eq(t, structs.AllocClientStatusLost, lost.ClientStatus)
	must.Eq(t, structs.AllocState{Value: structs.AllocClientStatusLost, Time: apNow}, lastState(lost))

	old := get("a-old")
	must.Eq(t, structs.AllocDesiredStatusStop, old.DesiredStatus)
	must.Eq(t, structs.AllocUpdating, old.DesiredDescription)
	must.Eq(t, structs.AllocClientStatusRunning, old.ClientStatus)
	must.SliceEmpty(t, old.AllocStates)

	disc := get("a-disc")
	must.Eq(t, structs.AllocClientStatusUnknown, disc.ClientStatus)
	must.Eq(t, structs.AllocState{Value: structs.AllocClientStatusUnknown, Time: apNow}, lastState(disc))
	must.Eq(t, "id-2", disc.FollowupEvalID)

	rec := get("a-rec")
	must.Eq(t, []structs.AllocState{
		{Value: structs.AllocClientStatusUnknown, Time: apNow.Add(-5 * time.Minute)},
		{Value: structs.AllocClientStatusRunning, Time: apNow},
	}, []structs.AllocState{*rec.AllocStates[0], *rec.AllocStates[1]})
	must.False(t, rec.NeedsToReconnect())
	must.Eq(t, "", rec.FollowupEvalID)

	must.Eq(t, uint64(2), get("a-inplace").JobVersion)
	must.Eq(t, "id-1", get("a-failed").FollowupEvalID)

	evals, err := s.Evals(nil)
	must.NoError(t, err)
	byID := map[string]*structs.Evaluation{}
	for _, e := range evals {
		byID[e.ID] = e
	}
	must.Eq(t, structs.EvalStatusComplete, byID["eval-1"].Status)
	must.Eq(t, structs.EvalStatusPending, byID["id-1"].Status)
	must.Eq(t, apNow.Add(30*time.Second), byID["id-1"].WaitUntil)
	must.Eq(t, structs.EvalStatusPending, byID["id-2"].Status)
	must.Eq(t, apNow.Add(5*time.Minute), byID["id-2"].WaitUntil)
	must.Eq(t, structs.EvalTriggerMaxDisconnectTimeout, byID["id-2"].TriggeredBy)
	must.Eq(t, idx, byID["id-2"].CreateIndex)
}

func TestApply_UnplaceableSkippedAndReported(t *testing.T) {
	s, in, _ := apFixture(t)
	// Only n1 could take work, and it is the node being replaced.
	var nodes []*structs.Node
	for _, n := range apAllNodes(t, s) {
		if n.ID != "n2" && n.ID != "n3" {
			nodes = append(nodes, n)
		}
	}
	res := &Results{
		Place: []Placement{
			{Name: "web.web[3]", TaskGroup: "web", PreviousAllocation: "a-inplace"},
			{Name: "web.web[7]", TaskGroup: "web", NodeID: "ndrain"},
			{Name: "web.web[8]", TaskGroup: "web", NodeID: "ghost"},
			{Name: "web.web[9]", TaskGroup: "web", NodeID: "n1"},
		},
		Stop: []Stop{{AllocID: "a-inplace", Description: structs.AllocUpdating}},
	}
	out, err := Apply(s, nodes, in, res, ApplyConfig{NewID: apSeqIDs("id")})
	must.NoError(t, err)
	must.Eq(t, 1, out.Placed)
	must.Eq(t, 3, out.Unplaced)
	must.Eq(t, []Placement{res.Place[0], res.Place[1], res.Place[2]}, out.Blocked)

	placed, err := s.AllocsByEval(nil, "eval-1")
	must.NoError(t, err)
	must.Len(t, 1, placed)
	must.Eq(t, "n1", placed[0].NodeID)
	must.Eq(t, "web.web[9]", placed[0].Name)
	// The outcome names it, index for index with the placements.
	must.SliceLen(t, 4, out.PlacedAllocs)
	must.Nil(t, out.PlacedAllocs[0])
	must.Nil(t, out.PlacedAllocs[1])
	must.Nil(t, out.PlacedAllocs[2])
	must.Eq(t, placed[0].ID, out.PlacedAllocs[3].ID)
	a, err := s.AllocByID(nil, "a-inplace")
	must.NoError(t, err)
	must.Eq(t, structs.AllocDesiredStatusStop, a.DesiredStatus)
	must.Eq(t, "", a.NextAllocation)
	e, err := s.EvalByID(nil, "eval-1")
	must.NoError(t, err)
	must.Eq(t, structs.EvalStatusComplete, e.Status)
}

func TestApply_SystemPlacementUsesItsNode(t *testing.T) {
	s, in, _ := apFixture(t)
	// A failed alloc replaced on its own node: exclusion does not apply.
	res := &Results{Place: []Placement{{Name: "web.web[6]", TaskGroup: "web", PreviousAllocation: "a-failed", NodeID: "n1"}},
		Stop: []Stop{{AllocID: "a-failed", ClientStatus: structs.AllocClientStatusFailed, Description: structs.AllocRescheduled}}}
	w := &apWriter{}
	out, err := Apply(w, apAllNodes(t, s), in, res, ApplyConfig{NewID: apSeqIDs("id")})
	must.NoError(t, err)
	must.Eq(t, 1, out.Placed)
	got := w.reqs[0].(*structs.ApplyPlanResultsRequest).AllocsPlaced[0]
	must.Eq(t, "n1", got.NodeID)
	// n1 holds a-rec and a-inplace live.
	must.Eq(t, 1.0/3, got.Metrics.ScoreMetaData[0].NormScore)
	must.Eq(t, "a-failed", got.RescheduleTracker.Events[0].PrevAllocID)
}

func TestApply_DeterministicWithSeededIDs(t *testing.T) {
	s, in, res := apFixture(t)
	nodes := apAllNodes(t, s)
	var payloads [][]byte
	for i := range 3 {
		shuffled := slices.Clone(nodes)
		if i == 1 {
			slices.Reverse(shuffled)
		}
		w := &apWriter{}
		_, err := Apply(w, shuffled, in, res, ApplyConfig{NewID: apSeqIDs("id")})
		must.NoError(t, err)
		b, err := structs.Marshal(w.reqs[0])
		must.NoError(t, err)
		payloads = append(payloads, b)
	}
	must.Eq(t, payloads[0], payloads[1])
	must.Eq(t, payloads[0], payloads[2])
}

func TestApply_DefaultIDsAreUUIDs(t *testing.T) {
	s, in, res := apFixture(t)
	w := &apWriter{}
	out, err := Apply(w, apAllNodes(t, s), in, res, ApplyConfig{})
	must.NoError(t, err)
	must.Len(t, 2, out.FollowUpEvalIDs)
	must.NotEq(t, out.FollowUpEvalIDs[0], out.FollowUpEvalIDs[1])
	must.RegexMatch(t, regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`), out.FollowUpEvalIDs[0])
}

func TestApply_BadInputWritesNothing(t *testing.T) {
	s, in, res := apFixture(t)
	nodes := apAllNodes(t, s)
	before := s.LatestIndex()

	noJob := in
	noJob.Job = nil
	_, err := Apply(s, nodes, noJob, res, ApplyConfig{})
	must.ErrorIs(t, err, structs.ErrInvalidRequest)

	noNow := in
	noNow.Now = time.Time{}
	_, err = Apply(s, nodes, noNow, res, ApplyConfig{})
	must.ErrorIs(t, err, structs.ErrInvalidRequest)

	bad := *res
	bad.Stop = append(slices.Clone(res.Stop), Stop{AllocID: "no-such-alloc"})
	_, err = Apply(s, nodes, in, &bad, ApplyConfig{})
	must.ErrorIs(t, err, structs.ErrUnknownAlloc)
	must.Eq(t, before, s.LatestIndex())

	// An empty result still completes the evaluation, in one write.
	out, err := Apply(s, nodes, in, nil, ApplyConfig{})
	must.NoError(t, err)
	must.Eq(t, before+1, out.Index)
	e, err := s.EvalByID(nil, "eval-1")
	must.NoError(t, err)
	must.Eq(t, structs.EvalStatusComplete, e.Status)
}

func TestApply_DisconnectWithoutTimeoutFollowUp(t *testing.T) {
	// System jobs disconnect without a follow-up: FollowupEvalID stays
	// empty, and an alloc-reschedule follow-up never takes its place.
	s, in, _ := apFixture(t)
	res := &Results{Disconnect: []AllocDecision{{AllocID: "a-disc"}},
		FollowUps: []FollowUp{{TriggeredBy: structs.EvalTriggerAllocReschedule, WaitUntil: apNow.Add(time.Minute), AllocIDs: []string{"a-disc"}}}}
	w := &apWriter{}
	_, err := Apply(w, apAllNodes(t, s), in, res, ApplyConfig{NewID: apSeqIDs("id")})
	must.NoError(t, err)
	req := w.reqs[0].(*structs.ApplyPlanResultsRequest)
	must.Eq(t, []*structs.AllocFollowupUpdate{{AllocID: "a-disc"}}, req.AllocsDisconnected)
	must.SliceEmpty(t, req.AllocFollowups)
}

func TestApply_WriterErrorIsWrapped(t *testing.T) {
	_, in, res := apFixture(t)
	boom := errors.New("boom")
	_, err := Apply(apErrWriter{boom}, nil, in, res, ApplyConfig{})
	must.ErrorIs(t, err, boom)
}

type apErrWriter struct{ err error }

func (w apErrWriter) ApplyCommand(structs.MessageType, any) (uint64, any, error) {
	return 0, nil, w.err
}
