package reconcile_test

// Property tests: random small jobs, nodes and allocations go through Compute,
// and every result must obey the invariants SCENARIOS.md lists (plus
// determinism, no input mutation, sorted lists, and a reason on every
// decision). The generator and the checks only use the public API and the
// spec, so they stay an independent oracle for the implementation.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/structs"
	"pgregory.net/rapid"
)

// propNow is the reconciler clock for every generated input; generated times
// are offsets from it so the histories stay plausible.
var propNow = time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC)

func genDuration(t *rapid.T, label string, choices ...time.Duration) time.Duration {
	return rapid.SampledFrom(choices).Draw(t, label)
}

func genJob(t *rapid.T) *structs.Job {
	typ := rapid.SampledFrom([]string{structs.JobTypeService, structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem}).Draw(t, "type")
	job := &structs.Job{
		ID:            "web",
		Namespace:     structs.DefaultNamespace,
		Type:          typ,
		Version:       uint64(rapid.IntRange(0, 2).Draw(t, "version")),
		Stop:          rapid.IntRange(0, 9).Draw(t, "stop") == 0,
		UpdateInPlace: rapid.Bool().Draw(t, "inplace"),
		CreateIndex:   10,
	}
	ngroups := rapid.IntRange(1, 2).Draw(t, "ngroups")
	if typ == structs.JobTypeSystem {
		ngroups = 1
	}
	for i := 0; i < ngroups; i++ {
		tg := &structs.TaskGroup{
			Name:  fmt.Sprintf("g%d", i),
			Count: rapid.IntRange(0, 5).Draw(t, "count"),
		}
		if typ == structs.JobTypeSystem {
			tg.Count = 1
		}
		switch rapid.IntRange(0, 3).Draw(t, "disconnect") {
		case 0: // no disconnect support
		case 1:
			d := genDuration(t, "mcd", 0, 3*time.Minute, 5*time.Minute)
			tg.MaxClientDisconnect = &d
		default:
			tg.Disconnect = &structs.DisconnectStrategy{
				LostAfter: genDuration(t, "lostAfter", 0, time.Minute, 5*time.Minute, 10*time.Minute),
				Reconcile: rapid.SampledFrom([]string{"", structs.ReconcileOptionKeepOriginal, structs.ReconcileOptionKeepReplacement,
					structs.ReconcileOptionBestScore, structs.ReconcileOptionLongestRunning}).Draw(t, "reconcile"),
			}
			switch rapid.IntRange(0, 2).Draw(t, "replace") {
			case 1:
				v := true
				tg.Disconnect.Replace = &v
			case 2:
				v := false
				tg.Disconnect.Replace = &v
			}
		}
		if rapid.Bool().Draw(t, "hasPolicy") {
			tg.ReschedulePolicy = &structs.ReschedulePolicy{
				Attempts:  rapid.IntRange(0, 3).Draw(t, "attempts"),
				Interval:  genDuration(t, "interval", 10*time.Minute, time.Hour),
				Delay:     genDuration(t, "delay", 0, 0, 30*time.Second, 2*time.Minute),
				Unlimited: rapid.IntRange(0, 4).Draw(t, "unlimited") == 0,
			}
		}
		job.TaskGroups = append(job.TaskGroups, tg)
	}
	return job
}

func genNodes(t *rapid.T) map[string]*structs.Node {
	nodes := map[string]*structs.Node{}
	n := rapid.IntRange(1, 4).Draw(t, "nnodes")
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("n%d", i)
		elig := structs.NodeSchedulingEligible
		if rapid.IntRange(0, 5).Draw(t, "inelig") == 0 {
			elig = structs.NodeSchedulingIneligible
		}
		nodes[id] = &structs.Node{
			ID: id,
			Status: rapid.SampledFrom([]string{structs.NodeStatusReady, structs.NodeStatusReady, structs.NodeStatusInit,
				structs.NodeStatusDown, structs.NodeStatusDisconnected}).Draw(t, "nodeStatus"),
			Drain:                 rapid.IntRange(0, 5).Draw(t, "drain") == 0,
			SchedulingEligibility: elig,
		}
	}
	return nodes
}

// genTime returns a time at most two hours before propNow, at whole seconds.
func genTime(t *rapid.T, label string) time.Time {
	return propNow.Add(-time.Duration(rapid.IntRange(0, 7200).Draw(t, label)) * time.Second)
}

func genAllocs(t *rapid.T, job *structs.Job, nodes map[string]*structs.Node) []*structs.Allocation {
	nodeIDs := make([]string, 0, len(nodes)+1)
	for id := range nodes {
		nodeIDs = append(nodeIDs, id)
	}
	sort.Strings(nodeIDs)
	nodeIDs = append(nodeIDs, "gone")

	n := rapid.IntRange(0, 6).Draw(t, "nallocs")
	allocs := make([]*structs.Allocation, 0, n)
	for i := 0; i < n; i++ {
		tg := rapid.SampledFrom(job.TaskGroups).Draw(t, "allocGroup")
		a := &structs.Allocation{
			ID:            fmt.Sprintf("a%d", i),
			Namespace:     job.Namespace,
			JobID:         job.ID,
			TaskGroup:     tg.Name,
			Name:          fmt.Sprintf("%s.%s[%d]", job.ID, tg.Name, rapid.IntRange(0, 5).Draw(t, "nameIndex")),
			NodeID:        rapid.SampledFrom(nodeIDs).Draw(t, "allocNode"),
			JobVersion:    uint64(rapid.IntRange(0, int(job.Version)).Draw(t, "jobVersion")),
			DesiredStatus: rapid.SampledFrom([]string{"run", "run", "run", "run", "stop", "evict"}).Draw(t, "desired"),
			ClientStatus: rapid.SampledFrom([]string{"pending", "running", "running", "running", "complete", "failed",
				"failed", "lost", "unknown", "unknown"}).Draw(t, "clientStatus"),
			FollowupEvalID: rapid.SampledFrom([]string{"", "", "ev1", "ev2"}).Draw(t, "followup"),
		}
		if job.Type == structs.JobTypeSystem {
			a.Name = fmt.Sprintf("%s.%s[0]", job.ID, tg.Name)
		}
		// AllocStates: monotonic times, random ClientStatus values (some empty).
		ns := rapid.IntRange(0, 4).Draw(t, "nstates")
		at := propNow.Add(-time.Duration(rapid.IntRange(60, 3600).Draw(t, "stateStart")) * time.Second)
		for j := 0; j < ns; j++ {
			a.AllocStates = append(a.AllocStates, &structs.AllocState{
				Field: structs.AllocStateFieldClientStatus,
				Value: rapid.SampledFrom([]string{"unknown", "unknown", "running", "pending", "failed", ""}).Draw(t, "stateValue"),
				Time:  at,
			})
			at = at.Add(time.Duration(rapid.IntRange(0, 300).Draw(t, "stateGap")) * time.Second)
			if at.After(propNow) {
				at = propNow
			}
		}
		// The server only sets ClientStatus unknown together with an unknown
		// AllocState, so keep generated allocs in that domain.
		if a.ClientStatus == structs.AllocClientStatusUnknown && !a.NeedsToReconnect() {
			a.AppendState(structs.AllocStateFieldClientStatus, structs.AllocClientStatusUnknown, at)
		}
		if rapid.IntRange(0, 3).Draw(t, "hasScore") > 0 {
			a.Metrics = &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{
				NodeID:    a.NodeID,
				NormScore: rapid.SampledFrom([]float64{0.1, 0.5, 0.5, 0.9}).Draw(t, "score"),
			}}}
		}
		if rapid.Bool().Draw(t, "hasTasks") {
			a.TaskStates = map[string]*structs.TaskState{}
			for k := 0; k < rapid.IntRange(1, 2).Draw(t, "ntasks"); k++ {
				ts := &structs.TaskState{Restarts: uint64(rapid.IntRange(0, 2).Draw(t, "restarts"))}
				if rapid.IntRange(0, 4).Draw(t, "hasStart") > 0 {
					ts.StartedAt = genTime(t, "startedAt")
				}
				if rapid.Bool().Draw(t, "hasRestart") {
					ts.LastRestart = genTime(t, "lastRestart")
				}
				if rapid.Bool().Draw(t, "hasFinish") {
					ts.FinishedAt = genTime(t, "finishedAt")
				}
				a.TaskStates[fmt.Sprintf("task%d", k)] = ts
			}
		}
		if rapid.Bool().Draw(t, "hasTracker") {
			a.RescheduleTracker = &structs.RescheduleTracker{}
			for k := 0; k < rapid.IntRange(0, 3).Draw(t, "nevents"); k++ {
				a.RescheduleTracker.Events = append(a.RescheduleTracker.Events,
					&structs.RescheduleEvent{RescheduleTime: genTime(t, "rescheduleTime").UnixNano()})
			}
		}
		// Replacement links: only to an earlier alloc of the same group that
		// has no NextAllocation yet, so chains never loop; either or both
		// directions are recorded.
		if i > 0 && rapid.Bool().Draw(t, "linked") {
			var cands []*structs.Allocation
			for _, p := range allocs {
				if p.TaskGroup == a.TaskGroup && p.NextAllocation == "" {
					cands = append(cands, p)
				}
			}
			if len(cands) > 0 {
				p := rapid.SampledFrom(cands).Draw(t, "prev")
				switch rapid.IntRange(0, 2).Draw(t, "linkDir") {
				case 0:
					a.PreviousAllocation = p.ID
				case 1:
					p.NextAllocation = a.ID
				default:
					a.PreviousAllocation = p.ID
					p.NextAllocation = a.ID
				}
				if job.Type != structs.JobTypeSystem {
					a.Name = p.Name
				}
			}
		}
		allocs = append(allocs, a)
	}
	return allocs
}

func genReconcileInput(t *rapid.T) reconcile.Input {
	job := genJob(t)
	nodes := genNodes(t)
	allocs := genAllocs(t, job, nodes)
	// Some nodes are gone: drop one that allocs may reference.
	if len(nodes) > 1 && rapid.IntRange(0, 4).Draw(t, "dropNode") == 0 {
		delete(nodes, "n0")
	}
	return reconcile.Input{
		Job:    job,
		Allocs: allocs,
		Nodes:  nodes,
		Now:    propNow.Add(time.Duration(rapid.IntRange(0, 600).Draw(t, "nowOffset")) * time.Second),
		EvalID: rapid.SampledFrom([]string{"", "ev1", "ev3"}).Draw(t, "evalID"),
	}
}

func mustJSON(t *rapid.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return b
}

// TestProperty_ComputeInvariants checks every invariant of SCENARIOS.md on
// random inputs. rapid's default of 100 cases keeps it quick under -race;
// run with -rapid.checks=20000 for a deeper search.
func TestProperty_ComputeInvariants(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		in := genReconcileInput(t)
		before := mustJSON(t, in)
		res := reconcile.Compute(in)
		if res == nil {
			t.Fatalf("Compute returned nil")
		}
		if after := mustJSON(t, in); !bytes.Equal(before, after) {
			t.Fatalf("Compute mutated its input:\nbefore %s\nafter  %s", before, after)
		}
		again := reconcile.Compute(in)
		if a, b := mustJSON(t, res), mustJSON(t, again); !bytes.Equal(a, b) {
			t.Fatalf("Compute is not deterministic:\n%s\n%s", a, b)
		}
		checkInvariants(t, in, res)
	})
}

// propCtx holds what the checks derive from the input, per the definitions in
// SCENARIOS.md.
type propCtx struct {
	in     reconcile.Input
	byID   map[string]*structs.Allocation
	groups map[string]*structs.TaskGroup
}

func (c *propCtx) nodeStatus(a *structs.Allocation) string {
	n, ok := c.in.Nodes[a.NodeID]
	if !ok || n == nil {
		return "gone"
	}
	return n.Status
}

func serverTerminal(a *structs.Allocation) bool {
	return a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict
}

// reconnecting reports whether table rows 1 or 9 class the alloc (service
// and batch jobs): needsReconnect and either failed (row 1) or on a ready or
// initializing node with a client-reported status (row 9; rows 2, 3 and 8 can
// not match a non-unknown status that needs to reconnect).
func (c *propCtx) reconnecting(a *structs.Allocation) bool {
	if serverTerminal(a) || !a.NeedsToReconnect() {
		return false
	}
	if a.ClientStatus == structs.AllocClientStatusFailed {
		return true
	}
	st := c.nodeStatus(a)
	return (st == structs.NodeStatusReady || st == structs.NodeStatusInit) && a.ClientStatus != structs.AllocClientStatusUnknown
}

func checkInvariants(t *rapid.T, in reconcile.Input, res *reconcile.Results) {
	c := &propCtx{in: in, byID: map[string]*structs.Allocation{}, groups: map[string]*structs.TaskGroup{}}
	for _, a := range in.Allocs {
		c.byID[a.ID] = a
	}
	for _, tg := range in.Job.TaskGroups {
		c.groups[tg.Name] = tg
	}
	system := in.Job.Type == structs.JobTypeSystem

	checkSortedAndReasons(t, res)

	// Decision sets; each list names known allocs at most once.
	set := func(list string, ids []string) map[string]bool {
		m := map[string]bool{}
		for _, id := range ids {
			if c.byID[id] == nil {
				t.Fatalf("%s names unknown alloc %q", list, id)
			}
			if m[id] {
				t.Fatalf("%s names alloc %q twice", list, id)
			}
			m[id] = true
		}
		return m
	}
	var stopIDs []string
	stopCS := map[string]string{}
	for _, s := range res.Stop {
		stopIDs = append(stopIDs, s.AllocID)
		stopCS[s.AllocID] = s.ClientStatus
	}
	stops := set("Stop", stopIDs)
	discs := set("Disconnect", decisionIDs(res.Disconnect))
	recs := set("Reconnect", decisionIDs(res.Reconnect))
	upds := set("Update", decisionIDs(res.Update))

	// An alloc appears in at most one of Stop, Disconnect, Reconnect; an
	// updated alloc is neither stopped nor reconnected.
	for id := range c.byID {
		n := 0
		for _, m := range []map[string]bool{stops, discs, recs} {
			if m[id] {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("alloc %s is in more than one of Stop/Disconnect/Reconnect", id)
		}
		if upds[id] && (stops[id] || recs[id]) {
			t.Fatalf("alloc %s is both updated and stopped/reconnected", id)
		}
	}

	// Stops: ClientStatus is lost, failed or empty; failed only for failed
	// allocs; a server-terminal alloc is only stopped again as lost while
	// pending or running on a down or gone node.
	for _, s := range res.Stop {
		a := c.byID[s.AllocID]
		switch s.ClientStatus {
		case "", structs.AllocClientStatusLost:
		case structs.AllocClientStatusFailed:
			if a.ClientStatus != structs.AllocClientStatusFailed {
				t.Fatalf("Stop %s as failed but its ClientStatus is %q", a.ID, a.ClientStatus)
			}
		default:
			t.Fatalf("Stop %s has ClientStatus %q", a.ID, s.ClientStatus)
		}
		if serverTerminal(a) {
			ns := c.nodeStatus(a)
			okStatus := a.ClientStatus == structs.AllocClientStatusPending || a.ClientStatus == structs.AllocClientStatusRunning
			if s.ClientStatus != structs.AllocClientStatusLost || !okStatus || (ns != structs.NodeStatusDown && ns != "gone") {
				t.Fatalf("server-terminal alloc %s (client %s, node %s) stopped with %q", a.ID, a.ClientStatus, ns, s.ClientStatus)
			}
		}
	}

	// Nothing server-terminal is disconnected, reconnected or updated, and
	// only allocs that need to reconnect are reconnected.
	for id := range recs {
		a := c.byID[id]
		if serverTerminal(a) {
			t.Fatalf("server-terminal alloc %s reconnected", id)
		}
		if !a.NeedsToReconnect() {
			t.Fatalf("alloc %s reconnected but its last ClientStatus state is %q", id, a.LastClientStatus())
		}
		if a.ClientStatus == structs.AllocClientStatusUnknown {
			t.Fatalf("alloc %s reconnected while its client has not reported it (still unknown)", id)
		}
		if !system && !c.reconnecting(a) {
			t.Fatalf("alloc %s reconnected but the table does not class it reconnecting", id)
		}
	}
	for id := range discs {
		a := c.byID[id]
		ns := c.nodeStatus(a)
		if serverTerminal(a) || a.ClientStatus == structs.AllocClientStatusUnknown {
			t.Fatalf("alloc %s disconnected but it is server-terminal or already unknown", id)
		}
		if ns != structs.NodeStatusDisconnected && (system || ns != structs.NodeStatusDown) {
			t.Fatalf("alloc %s disconnected but its node is %s", id, ns)
		}
	}
	for id := range upds {
		a := c.byID[id]
		if !in.Job.UpdateInPlace || serverTerminal(a) || a.JobVersion >= in.Job.Version ||
			(a.ClientStatus != structs.AllocClientStatusPending && a.ClientStatus != structs.AllocClientStatusRunning) {
			t.Fatalf("alloc %s updated but is not an outdated pending/running alloc of an in-place update", id)
		}
	}

	// Placements name a group of the job; a PreviousAllocation names an
	// alloc of the same group that is not reconnected, at most once.
	prevSeen := map[string]bool{}
	for _, p := range res.Place {
		if c.groups[p.TaskGroup] == nil {
			t.Fatalf("Place %+v names an unknown group", p)
		}
		prefix := in.Job.ID + "." + p.TaskGroup + "["
		if !strings.HasPrefix(p.Name, prefix) || !strings.HasSuffix(p.Name, "]") {
			t.Fatalf("Place name %q is not %s<i>]", p.Name, prefix)
		}
		if _, err := strconv.Atoi(p.Name[len(prefix) : len(p.Name)-1]); err != nil {
			t.Fatalf("Place name %q has no index", p.Name)
		}
		if p.NodeID != "" {
			if n := in.Nodes[p.NodeID]; n == nil || n.Status == structs.NodeStatusDisconnected {
				t.Fatalf("Place %+v on a disconnected or unknown node", p)
			}
		}
		if p.PreviousAllocation == "" {
			continue
		}
		prev := c.byID[p.PreviousAllocation]
		if prev == nil || prev.TaskGroup != p.TaskGroup {
			t.Fatalf("Place %+v: PreviousAllocation is not an alloc of its group", p)
		}
		if !system && prev.Name != p.Name {
			t.Fatalf("Place %+v replaces %s but changes its name %q", p, prev.ID, prev.Name)
		}
		if prevSeen[p.PreviousAllocation] {
			t.Fatalf("two placements replace %s", p.PreviousAllocation)
		}
		prevSeen[p.PreviousAllocation] = true
		// (A system node whose only alloc reconnects as complete gets a
		// Place too, literally per SCENARIOS.md, so this is service/batch.)
		if !system && recs[p.PreviousAllocation] {
			t.Fatalf("alloc %s is reconnected and replaced at once", p.PreviousAllocation)
		}
	}

	checkFollowUps(t, c, res, discs, system)

	if in.Job.Stop {
		if len(res.Place)+len(res.Reconnect)+len(res.Disconnect)+len(res.Update) > 0 {
			t.Fatalf("stopped job got placements, reconnects, disconnects or updates: %+v", res)
		}
		for _, a := range in.Allocs {
			if !serverTerminal(a) && !a.ClientTerminalStatus() && !stops[a.ID] {
				t.Fatalf("stopped job left alloc %s (%s) running", a.ID, a.ClientStatus)
			}
		}
		return
	}

	if system {
		checkSystem(t, c, res, stops, discs)
		return
	}

	// Every reconnecting alloc is in exactly one of Stop or Reconnect.
	for _, a := range in.Allocs {
		if c.reconnecting(a) && stops[a.ID] == recs[a.ID] {
			t.Fatalf("reconnecting alloc %s: stop=%v reconnect=%v", a.ID, stops[a.ID], recs[a.ID])
		}
	}

	// Running + pending allocs after applying the result never exceed Count
	// (unknown allocs, which are the only ones allowed to exceed it, are not
	// counted here).
	for _, tg := range in.Job.TaskGroups {
		n := 0
		for _, a := range in.Allocs {
			if a.TaskGroup != tg.Name || serverTerminal(a) || stops[a.ID] || discs[a.ID] {
				continue
			}
			if a.ClientStatus == structs.AllocClientStatusPending || a.ClientStatus == structs.AllocClientStatusRunning {
				n++
			}
		}
		for _, p := range res.Place {
			if p.TaskGroup == tg.Name {
				n++
			}
		}
		if n > tg.Count {
			t.Fatalf("group %s: %d running+pending allocs after the result, Count %d", tg.Name, n, tg.Count)
		}
	}

	checkNoNewDuplicateNames(t, c, res, stops, discs)
}

// checkNoNewDuplicateNames: after applying the result, no two live
// pending, running or unknown allocs of a service or batch group (new
// placements included) share a Name, beyond what the input already had.
// An unknown alloc with a live replacement does not hold its name (it
// waits for its reconnect decision: SCENARIOS.md step 7 counts only its
// replacements), so an original and its replacement never collide. The
// check compares per name: holders after <= max(1, slots held before).
func checkNoNewDuplicateNames(t *rapid.T, c *propCtx, res *reconcile.Results, stops, discs map[string]bool) {
	// Replacement links, both directions, restricted to the alloc's group.
	children := map[string][]string{} // alloc ID -> IDs of allocs replacing it directly
	link := func(parent, child string) {
		p, ch := c.byID[parent], c.byID[child]
		if p != nil && ch != nil && p.TaskGroup == ch.TaskGroup && parent != child {
			children[parent] = append(children[parent], child)
		}
	}
	for _, a := range c.in.Allocs {
		if a.PreviousAllocation != "" {
			link(a.PreviousAllocation, a.ID)
		}
		if a.NextAllocation != "" {
			link(a.ID, a.NextAllocation)
		}
	}
	placedFor := map[string]bool{}
	for _, p := range res.Place {
		if p.PreviousAllocation != "" {
			placedFor[p.PreviousAllocation] = true
		}
	}
	// hasLive reports whether some replacement of id (transitively) is live
	// under isLive, or (after the result) is replaced by a placement.
	hasLive := func(id string, isLive func(*structs.Allocation) bool, after bool) bool {
		seen := map[string]bool{id: true}
		stack := []string{id}
		if after && placedFor[id] {
			return true
		}
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, y := range children[x] {
				if seen[y] {
					continue
				}
				seen[y] = true
				if isLive(c.byID[y]) || (after && placedFor[y]) {
					return true
				}
				stack = append(stack, y)
			}
		}
		return false
	}
	liveBefore := func(a *structs.Allocation) bool { return !serverTerminal(a) }
	liveAfter := func(a *structs.Allocation) bool { return !serverTerminal(a) && !stops[a.ID] }
	statusAfter := func(a *structs.Allocation) string {
		if discs[a.ID] {
			return structs.AllocClientStatusUnknown
		}
		return a.ClientStatus
	}
	type key struct{ group, name string }
	before, after := map[key]int{}, map[key][]string{}
	for _, a := range c.in.Allocs {
		if c.groups[a.TaskGroup] == nil {
			continue
		}
		k := key{a.TaskGroup, a.Name}
		// Before: the slots the input holds per name, by step 7's rule
		// (any live alloc, except an unknown or failed one with a live
		// replacement), so inputs that already share a name among slot
		// holders are not blamed on Compute.
		if liveBefore(a) {
			switch a.ClientStatus {
			case structs.AllocClientStatusUnknown, structs.AllocClientStatusFailed:
				if !hasLive(a.ID, liveBefore, false) {
					before[k]++
				}
			default:
				before[k]++
			}
		}
		if !liveAfter(a) {
			continue
		}
		switch statusAfter(a) {
		case structs.AllocClientStatusPending, structs.AllocClientStatusRunning:
			after[k] = append(after[k], a.ID)
		case structs.AllocClientStatusUnknown:
			if !hasLive(a.ID, liveAfter, true) {
				after[k] = append(after[k], a.ID)
			}
		}
	}
	for _, p := range res.Place {
		k := key{p.TaskGroup, p.Name}
		after[k] = append(after[k], "place(prev="+p.PreviousAllocation+")")
	}
	for k, holders := range after {
		if len(holders) > 1 && len(holders) > before[k] {
			t.Fatalf("group %s: name %s is held by %v after the result (%d slots held before)", k.group, k.name, holders, before[k])
		}
	}
}

func checkFollowUps(t *rapid.T, c *propCtx, res *reconcile.Results, discs map[string]bool, system bool) {
	if system && len(res.FollowUps) > 0 {
		t.Fatalf("system job got follow-ups: %+v", res.FollowUps)
	}
	type key struct{ group, trigger string }
	last := map[key]time.Time{}
	for _, f := range res.FollowUps {
		if f.TriggeredBy != "max-disconnect-timeout" && f.TriggeredBy != "alloc-reschedule" {
			t.Fatalf("follow-up with TriggeredBy %q", f.TriggeredBy)
		}
		if c.groups[f.TaskGroup] == nil {
			t.Fatalf("follow-up names unknown group %q", f.TaskGroup)
		}
		if f.WaitUntil.Before(c.in.Now) {
			t.Fatalf("follow-up %+v is in the past (Now %s)", f, c.in.Now)
		}
		for _, id := range f.AllocIDs {
			if a := c.byID[id]; a == nil || a.TaskGroup != f.TaskGroup {
				t.Fatalf("follow-up %+v names alloc %q outside its group", f, id)
			}
		}
		k := key{f.TaskGroup, f.TriggeredBy}
		if prev, ok := last[k]; ok && f.WaitUntil.Sub(prev) < 5*time.Second {
			t.Fatalf("follow-ups %s and %s of group %s (%s) are within 5s and not batched", prev, f.WaitUntil, f.TaskGroup, f.TriggeredBy)
		}
		last[k] = f.WaitUntil
	}
	if system {
		return
	}
	// Every Disconnect comes with its group's max-disconnect-timeout at
	// Now + lostAfter.
	for id := range discs {
		a := c.byID[id]
		want := c.in.Now.Add(c.groups[a.TaskGroup].LostAfter())
		found := false
		for _, f := range res.FollowUps {
			if f.TaskGroup == a.TaskGroup && f.TriggeredBy == "max-disconnect-timeout" && f.WaitUntil.Equal(want) {
				found = true
			}
		}
		if !found {
			t.Fatalf("alloc %s disconnected without a max-disconnect-timeout follow-up at %s: %+v", id, want, res.FollowUps)
		}
	}
}

func checkSystem(t *rapid.T, c *propCtx, res *reconcile.Results, stops, discs map[string]bool) {
	type key struct{ node, group string }
	placed := map[key]bool{}
	for _, p := range res.Place {
		// SCENARIOS.md says "one alloc per ready (or initializing), eligible
		// node" but places only on "a ready, eligible node"; accept both.
		n := c.in.Nodes[p.NodeID]
		if n == nil || (n.Status != structs.NodeStatusReady && n.Status != structs.NodeStatusInit) || n.Drain ||
			(n.SchedulingEligibility != "" && n.SchedulingEligibility != structs.NodeSchedulingEligible) {
			t.Fatalf("system Place %+v is not on a ready (or initializing), eligible, undrained node", p)
		}
		k := key{p.NodeID, p.TaskGroup}
		if placed[k] {
			t.Fatalf("two system placements on node %s", p.NodeID)
		}
		placed[k] = true
		for _, a := range c.in.Allocs {
			if a.NodeID != p.NodeID || a.TaskGroup != p.TaskGroup || serverTerminal(a) || stops[a.ID] {
				continue
			}
			switch a.ClientStatus {
			case structs.AllocClientStatusPending, structs.AllocClientStatusRunning, structs.AllocClientStatusUnknown:
				t.Fatalf("system Place on node %s which keeps alloc %s (%s)", p.NodeID, a.ID, a.ClientStatus)
			}
		}
		if p.PreviousAllocation != "" && c.byID[p.PreviousAllocation].NodeID != p.NodeID {
			t.Fatalf("system Place %+v replaces an alloc of another node", p)
		}
	}
	// Allocs on down or gone nodes are stopped as lost.
	for _, a := range c.in.Allocs {
		ns := c.nodeStatus(a)
		if serverTerminal(a) || a.ClientTerminalStatus() || (ns != structs.NodeStatusDown && ns != "gone") {
			continue
		}
		if !stops[a.ID] {
			t.Fatalf("system alloc %s on a %s node is not stopped", a.ID, ns)
		}
	}
}

func decisionIDs(ds []reconcile.AllocDecision) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.AllocID
	}
	return ids
}

func checkSortedAndReasons(t *rapid.T, res *reconcile.Results) {
	for i, p := range res.Place {
		if p.Reason == "" {
			t.Fatalf("Place %+v has no Reason", p)
		}
		if i > 0 {
			q := res.Place[i-1]
			if q.Name > p.Name || (q.Name == p.Name && q.PreviousAllocation > p.PreviousAllocation) {
				t.Fatalf("Place not sorted: %+v before %+v", q, p)
			}
		}
	}
	for i, s := range res.Stop {
		if s.Reason == "" || s.Description == "" {
			t.Fatalf("Stop %+v has no Reason or Description", s)
		}
		if i > 0 && res.Stop[i-1].AllocID > s.AllocID {
			t.Fatalf("Stop not sorted at %d", i)
		}
	}
	for name, list := range map[string][]reconcile.AllocDecision{"Disconnect": res.Disconnect, "Reconnect": res.Reconnect, "Update": res.Update} {
		for i, d := range list {
			if d.Reason == "" {
				t.Fatalf("%s %+v has no Reason", name, d)
			}
			if i > 0 && list[i-1].AllocID > d.AllocID {
				t.Fatalf("%s not sorted at %d", name, i)
			}
		}
	}
	for i, f := range res.FollowUps {
		if f.Reason == "" {
			t.Fatalf("FollowUp %+v has no Reason", f)
		}
		if i > 0 && res.FollowUps[i-1].WaitUntil.After(f.WaitUntil) {
			t.Fatalf("FollowUps not sorted at %d", i)
		}
	}
}
