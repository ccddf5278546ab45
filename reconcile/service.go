package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rejoinhq/rejoin/structs"
)

// serviceGroup decides one task group of a service or batch job: classify,
// then steps 1–7 of SCENARIOS.md in order.
func (e *engine) serviceGroup(g int32) {
	tg := e.job.TaskGroups[g]
	if tg == nil {
		return
	}
	lostAfter := tg.LostAfter()
	now := e.in.Now
	var reconnecting, disconnecting, waiting, lost []int32
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group != g || !ai.live() {
			continue
		}
		ai.cls, ai.row = classify(ai.a, ai.node, tg, lostAfter, now)
		switch ai.cls {
		case classReconnecting:
			reconnecting = append(reconnecting, int32(i))
		case classDisconnecting:
			disconnecting = append(disconnecting, int32(i))
		case classLost, classExpiring:
			// Their Stop is certain, so they are not live for any other
			// alloc's decision (a lost replacement replaces nothing).
			lost = append(lost, int32(i))
			ai.stopped = true
		case classUntainted:
			if ai.row == 4 {
				waiting = append(waiting, int32(i))
			}
		}
	}
	e.placeFrom = len(e.res.Place)
	e.filled = 0
	for i := range e.infos {
		if e.infos[i].group == g {
			e.filled += e.fill(int32(i))
		}
	}

	e.stepReconnecting(g, tg, reconnecting)
	e.stepDisconnecting(g, tg, disconnecting, waiting)
	e.stepLost(g, tg, lost)
	e.stepFailed(g, tg)
	e.stepJobUpdate(g)
	e.stepCount(g, tg)
}

// stepReconnecting is step 1. Originals go before their replacements so a
// replacement that also reconnects is decided after the pick that involves it.
func (e *engine) stepReconnecting(g int32, tg *structs.TaskGroup, idx []int32) {
	depth := make([]int, len(idx))
	order := make([]int, len(idx))
	for k, i := range idx {
		depth[k], order[k] = e.depth(i), k
	}
	slices.SortFunc(order, func(x, y int) int {
		if c := cmp.Compare(depth[x], depth[y]); c != 0 {
			return c
		}
		return strings.Compare(e.infos[idx[x]].a.ID, e.infos[idx[y]].a.ID)
	})
	sorted := make([]int32, len(idx))
	for k, o := range order {
		sorted[k] = idx[o]
	}
	idx = sorted
	policy := tg.EffectiveReschedulePolicy()
	strategy := tg.ReconcileStrategy()
	now := e.in.Now
	for _, i := range idx {
		ai := &e.infos[i]
		if ai.stopped {
			continue // lost a pick against its own original
		}
		a := ai.a
		row := rowText[ai.row]
		if a.ClientStatus == structs.AllocClientStatusFailed {
			e.reconnectFailed(g, i, policy, row)
			continue
		}
		if a.DesiredStatus != structs.AllocDesiredStatusRun || a.JobVersion < e.job.Version {
			e.stop(i, "", structs.AllocNotNeeded, fmt.Sprintf("%s; job version %d < current %d (desired %s) → stop", row, a.JobVersion, e.job.Version, a.DesiredStatus))
			continue
		}
		origLoses, why := false, ""
		for _, r := range e.liveReplacements(i) {
			keepRepl, reason := e.pick(a, e.infos[r].a, strategy)
			if keepRepl {
				origLoses = true
				why += reason + "; "
				continue
			}
			e.stop(r, "", structs.AllocReconnected, row+" of "+a.ID+": "+reason+" → stop replacement")
		}
		if origLoses {
			e.stop(i, "", structs.AllocNotNeeded, row+"; "+why+"stop original")
			continue
		}
		e.reconnect(i, row+"; no replacement kept (strategy "+strategy+") → reconnect, unknown since "+e.ts(a.LastUnknown())+", now "+e.ts(now))
	}
}

// reconnectFailed handles a reconnecting alloc whose client reports failed.
func (e *engine) reconnectFailed(g, i int32, policy structs.ReschedulePolicy, row string) {
	a := e.infos[i].a
	now := e.in.Now
	if e.hasLiveReplacement(i) {
		e.stop(i, structs.AllocClientStatusFailed, structs.AllocRescheduled, row+"; failed with a live replacement → stop as failed")
		return
	}
	ok, why := reschedulable(a, policy, now)
	if !ok {
		e.reconnect(i, row+"; failed, no replacement, "+why+" → reconnect and keep the slot as exhausted")
		return
	}
	at := rescheduleAt(a, policy, now)
	if !now.Before(at) {
		e.stop(i, structs.AllocClientStatusFailed, structs.AllocRescheduled, fmt.Sprintf("%s; failed, %s, due at %s <= now → reschedule", row, why, ts(at)))
		e.place(g, a.Name, i, "", fmt.Sprintf("reschedule of failed reconnecting %s (%s)", a.ID, why))
		return
	}
	e.reconnect(i, fmt.Sprintf("%s; failed, %s, not due until %s → reconnect and wait", row, why, ts(at)))
	// No hasOtherFollowUp check here: the Reconnect clears FollowupEvalID,
	// which can only be left over from the disconnect (like a disconnecting
	// alloc's), so without this FollowUp nothing would reschedule it.
	e.followUp(e.job.TaskGroups[g].Name, structs.EvalTriggerAllocReschedule, at, a.ID,
		fmt.Sprintf("reschedule failed %s at %s (failed at %s + delay %s)", a.ID, ts(at), ts(failedAt(a, now)), policy.Delay))
}

// stepDisconnecting is step 3: disconnecting allocs (rows 7, 13) and the
// row-4 allocs already waiting on a disconnected node.
func (e *engine) stepDisconnecting(g int32, tg *structs.TaskGroup, disconnecting, waiting []int32) {
	now := e.in.Now
	lostAfter := tg.LostAfter()
	replace := tg.Replace()
	policy := tg.EffectiveReschedulePolicy()
	e.sortByID(disconnecting)
	// Room for every decision up front instead of regrowing per append.
	e.res.Disconnect = slices.Grow(e.res.Disconnect, len(disconnecting))
	e.res.Place = slices.Grow(e.res.Place, len(disconnecting)+len(waiting))
	e.followUps = slices.Grow(e.followUps, 2*len(disconnecting))
	// Reasons shared by every disconnecting alloc of the group: built once,
	// so a mass disconnect allocates per decision only what it must.
	timeoutAt := now.Add(lostAfter)
	var discReason [14 + 1]string
	timeoutReason := fmt.Sprintf("disconnect timeout at %s (now %s + lost_after %s)", ts(timeoutAt), ts(now), lostAfter)
	placeReasons := map[string]string{}
	delayAt := now.Add(policy.Delay)
	delayReason := fmt.Sprintf("replace disconnected alloc at %s (now + delay %s)", ts(delayAt), policy.Delay)
	for _, i := range disconnecting {
		if !e.infos[i].live() {
			continue // a replacement stopped by a reconnect pick
		}
		a := e.infos[i].a
		row := e.infos[i].row
		if discReason[row] == "" {
			discReason[row] = fmt.Sprintf("%s → mark unknown at %s; lost after %s at %s", rowText[row], ts(now), lostAfter, ts(timeoutAt))
		}
		e.disconnect(i, discReason[row])
		rescheduleFollowUp := false
		if replace {
			ok, why := reschedulable(a, policy, now)
			switch {
			case !ok:
			case policy.Delay == 0:
				if !e.hasLiveReplacement(i) {
					r, seen := placeReasons[why]
					if !seen {
						r = fmt.Sprintf("%s; replace=true, %s, delay 0 → replace the disconnected alloc now", rowText[row], why)
						placeReasons[why] = r
					}
					e.place(g, a.Name, i, "", r)
				}
			default:
				e.followUp(tg.Name, structs.EvalTriggerAllocReschedule, delayAt, a.ID, delayReason)
				rescheduleFollowUp = true
			}
		}
		owner := a.ID
		if rescheduleFollowUp {
			owner = "" // the alloc's FollowupEvalID is the reschedule evaluation
		}
		e.followUp(tg.Name, structs.EvalTriggerMaxDisconnectTimeout, timeoutAt, owner, timeoutReason)
	}
	if !replace {
		return
	}
	e.sortByID(waiting)
	for _, i := range waiting {
		a := e.infos[i].a
		if !e.infos[i].live() || e.hasLiveReplacement(i) {
			continue
		}
		ok, why := reschedulable(a, policy, now)
		if !ok {
			continue
		}
		at := rescheduleAt(a, policy, now)
		if !now.Before(at) {
			e.place(g, a.Name, i, "", fmt.Sprintf("%s; no live replacement, %s, due at %s (unknown since %s + delay %s) → replace",
				rowText[4], why, ts(at), ts(a.LastUnknown()), policy.Delay))
			continue
		}
		if e.hasOtherFollowUp(a) {
			continue
		}
		e.followUp(tg.Name, structs.EvalTriggerAllocReschedule, at, a.ID,
			fmt.Sprintf("replace unknown %s at %s (unknown since %s + delay %s)", a.ID, ts(at), ts(a.LastUnknown()), policy.Delay))
	}
}

// stepLost is step 4: lost and expiring allocs are stopped as lost and
// replaced while the group is below Count and nothing replaces them yet.
func (e *engine) stepLost(g int32, tg *structs.TaskGroup, lost []int32) {
	slices.SortFunc(lost, func(x, y int32) int {
		if c := cmp.Compare(e.infos[x].nameIdx, e.infos[y].nameIdx); c != 0 {
			return c
		}
		return strings.Compare(e.infos[x].a.ID, e.infos[y].a.ID)
	})
	for _, i := range lost {
		ai := &e.infos[i]
		reason := rowText[ai.row]
		if ai.cls == classExpiring {
			reason = fmt.Sprintf("%s: unknown since %s + lost_after %s <= now %s", reason, ts(ai.a.LastUnknown()), tg.LostAfter(), ts(e.in.Now))
		}
		ai.stopped = false // marked up front; record the Stop itself now
		e.addStop(i, structs.AllocClientStatusLost, structs.AllocLost, reason+" → stop as lost")
	}
	for _, i := range lost {
		a := e.infos[i].a
		if e.hasLiveReplacement(i) {
			continue
		}
		if e.filled >= tg.Count {
			continue
		}
		if holder := e.nameHolder(g, i); holder != "" {
			// Its slot is held already (typically by another branch of its
			// chain: the original's replacement placed in step 3). A second
			// alloc of the same name would be a duplicate; a slot still
			// missing is left to a lost alloc of another name or to step 7.
			e.noteStop(i, "; not replaced: its name is held by "+holder)
			continue
		}
		e.place(g, a.Name, i, "", fmt.Sprintf("replace lost %s: group fills %d of %d slots and nothing replaces it", a.ID, e.filled, tg.Count))
	}
}

// stepFailed is step 5: failed untainted allocs with nothing replacing them.
func (e *engine) stepFailed(g int32, tg *structs.TaskGroup) {
	policy := tg.EffectiveReschedulePolicy()
	now := e.in.Now
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group != g || !ai.live() || ai.cls != classUntainted ||
			ai.a.ClientStatus != structs.AllocClientStatusFailed || ai.a.DesiredStatus != structs.AllocDesiredStatusRun {
			continue
		}
		if e.hasLiveReplacement(int32(i)) {
			continue
		}
		a := ai.a
		ok, why := reschedulable(a, policy, now)
		if !ok {
			continue // it stays and keeps its slot
		}
		at := rescheduleAt(a, policy, now)
		if !now.Before(at) {
			e.stop(int32(i), "", structs.AllocRescheduled, fmt.Sprintf("step 5: failed, %s, due at %s <= now → reschedule", why, ts(at)))
			e.place(g, a.Name, int32(i), "", fmt.Sprintf("reschedule of failed %s (%s)", a.ID, why))
			continue
		}
		if e.hasOtherFollowUp(a) {
			continue
		}
		e.followUp(tg.Name, structs.EvalTriggerAllocReschedule, at, a.ID,
			fmt.Sprintf("reschedule failed %s at %s (failed at %s + delay %s)", a.ID, ts(at), ts(failedAt(a, now)), policy.Delay))
	}
}

// stepJobUpdate is step 6: live pending or running allocs of an older job
// version are updated in place or replaced, all in one pass.
func (e *engine) stepJobUpdate(g int32) {
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group != g || !ai.live() || ai.cls != classUntainted || ai.a.JobVersion >= e.job.Version {
			continue
		}
		if cs := ai.a.ClientStatus; cs != structs.AllocClientStatusPending && cs != structs.AllocClientStatusRunning {
			continue
		}
		a := ai.a
		if e.job.UpdateInPlace {
			e.update(int32(i), fmt.Sprintf("step 6: job version %d < %d, update in place", a.JobVersion, e.job.Version))
			continue
		}
		e.stop(int32(i), "", structs.AllocUpdating, fmt.Sprintf("step 6: job version %d < %d, replace", a.JobVersion, e.job.Version))
		e.place(g, a.Name, int32(i), "", fmt.Sprintf("step 6: new version %d of %s", e.job.Version, a.ID))
	}
}
