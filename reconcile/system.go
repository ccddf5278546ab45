package reconcile

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/rejoinhq/rejoin/structs"
)

// systemGroup decides one task group of a system job: one alloc per ready
// (or initializing), eligible node.
func (e *engine) systemGroup(g int32) {
	tg := e.job.TaskGroups[g]
	if tg == nil {
		return
	}
	e.placeFrom = len(e.res.Place)
	lostAfter := tg.LostAfter()
	now := e.in.Now
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group != g || !ai.live() {
			continue
		}
		a := ai.a
		cs := a.ClientStatus
		switch {
		case cs == structs.AllocClientStatusUnknown && a.Expired(now, lostAfter):
			e.addStop(int32(i), structs.AllocClientStatusLost, structs.AllocLost,
				fmt.Sprintf("system: unknown since %s + lost_after %s <= now %s → stop as lost", ts(a.LastUnknown()), lostAfter, ts(now)))
		case ai.node == nil || ai.node.Status == structs.NodeStatusDown:
			if structs.ClientTerminalStatus(cs) {
				continue // finished before its node went away: nothing to stop
			}
			e.addStop(int32(i), structs.AllocClientStatusLost, structs.AllocLost,
				fmt.Sprintf("system: node %q is down or gone → stop as lost", a.NodeID))
		case ai.node.Status == structs.NodeStatusDisconnected:
			if cs == structs.AllocClientStatusRunning && lostAfter > 0 {
				ai.disconnected = true
				e.res.Disconnect = append(e.res.Disconnect, AllocDecision{AllocID: a.ID,
					Reason: fmt.Sprintf("system: running on disconnected node %q, lost_after %s → mark unknown, no replacement", a.NodeID, lostAfter)})
			}
		case nodeUp(ai.node):
			// SCENARIOS.md excludes failed: such a node gets a placement
			// replacing it instead. A complete (or lost) alloc is replaced
			// the same way, so it is not reconnected either: an alloc is
			// never reconnected and replaced at once.
			if a.NeedsToReconnect() && isPendingOrRunning(cs) {
				e.reconnect(int32(i), fmt.Sprintf("system: node %q is %s, last unknown at %s, client reports %s → reconnect",
					a.NodeID, ai.node.Status, ts(a.LastUnknown()), cs))
			}
		}
	}
	e.placeOnEmptyNodes(g, tg)
}

// placeOnEmptyNodes places one alloc on every ready, eligible, undrained node that has
// no pending, running or unknown alloc of the group after this result.
func (e *engine) placeOnEmptyNodes(g int32, tg *structs.TaskGroup) {
	// Allocs of the group per node, threaded through a slice: one map
	// entry per node that has allocs.
	head := make(map[string]int32)
	nextOnNode := make([]int32, len(e.infos))
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group != g || !ai.live() {
			continue
		}
		if h, ok := head[ai.a.NodeID]; ok {
			nextOnNode[i] = h
		} else {
			nextOnNode[i] = none
		}
		head[ai.a.NodeID] = int32(i)
	}
	ids := make([]string, 0, len(e.in.Nodes))
	for id, n := range e.in.Nodes {
		// Placements need a ready node: an initializing one keeps what it
		// has but gets nothing new (SCENARIOS.md: "A ready, eligible node").
		if n != nil && n.Status == structs.NodeStatusReady && systemEligible(n) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	name := fmt.Sprintf("%s.%s[0]", e.job.ID, tg.Name)
	for _, id := range ids {
		h, ok := head[id]
		if !ok {
			h = none
		}
		occupied := false
		prev := none
		for i := h; i != none; i = nextOnNode[i] {
			switch e.infos[i].statusAfter() {
			case statusPending, statusRunning, statusUnknown:
				occupied = true
			}
			prev = betterPrevious(e, prev, i)
		}
		if occupied {
			continue
		}
		reason := fmt.Sprintf("system: node %q is %s and eligible with no pending, running or unknown alloc", id, e.in.Nodes[id].Status)
		if prev != none {
			reason += fmt.Sprintf("; replaces %s %s", e.infos[prev].a.ClientStatus, e.infos[prev].a.ID)
		}
		e.place(g, name, prev, id, reason)
	}
}

// betterPrevious picks which client-terminal alloc a system placement
// replaces: failed before complete, then one nothing replaces yet, then
// the smallest ID.
func betterPrevious(e *engine, cur, cand int32) int32 {
	rank := func(i int32) int {
		switch e.infos[i].a.ClientStatus {
		case structs.AllocClientStatusFailed:
			return 0
		case structs.AllocClientStatusComplete:
			return 1
		}
		return 2
	}
	if rank(cand) == 2 {
		return cur
	}
	if cur == none {
		return cand
	}
	c := cmp.Or(cmp.Compare(rank(cand), rank(cur)),
		cmpBool(e.infos[cand].next != none || e.infos[cand].child != none, e.infos[cur].next != none || e.infos[cur].child != none),
		cmp.Compare(e.infos[cand].a.ID, e.infos[cur].a.ID))
	if c < 0 {
		return cand
	}
	return cur
}

// nodeUp: ready or initializing, the statuses whose clients talk to us.
func nodeUp(n *structs.Node) bool {
	return n.Status == structs.NodeStatusReady || n.Status == structs.NodeStatusInit
}

// systemEligible: scheduling eligible and not draining.
func systemEligible(n *structs.Node) bool {
	return !n.Drain && (n.SchedulingEligibility == "" || n.SchedulingEligibility == structs.NodeSchedulingEligible)
}
