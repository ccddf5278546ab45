package reconcile

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// batchWindow: follow-ups of one group with the same trigger whose times
// fall within this of the earliest become one evaluation.
const batchWindow = 5 * time.Second

// pendingFollowUp is one alloc's (or one decision's) wish for a later
// evaluation, before batching.
type pendingFollowUp struct {
	group   string
	trigger string
	at      time.Time
	allocID string // "" when no alloc's FollowupEvalID should point at it
	// reason explains this one follow-up; callers share one string among
	// many allocs where they can, so batching thousands costs nothing.
	reason string
}

func (e *engine) followUp(group, trigger string, at time.Time, allocID, reason string) {
	e.followUps = append(e.followUps, pendingFollowUp{group: group, trigger: trigger, at: at, allocID: allocID, reason: reason})
}

// flushFollowUps batches the pending follow-ups: per group and trigger,
// those within batchWindow (inclusive) of the earliest are one FollowUp at
// the earliest time; the next one outside the window starts a new batch.
func (e *engine) flushFollowUps() {
	fs := e.followUps
	if len(fs) == 0 {
		return
	}
	slices.SortFunc(fs, func(a, b pendingFollowUp) int {
		if c := strings.Compare(a.group, b.group); c != 0 {
			return c
		}
		if c := strings.Compare(a.trigger, b.trigger); c != 0 {
			return c
		}
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.allocID, b.allocID)
	})
	for start := 0; start < len(fs); {
		first := fs[start]
		end := start + 1
		for end < len(fs) && fs[end].group == first.group && fs[end].trigger == first.trigger &&
			fs[end].at.Sub(first.at) <= batchWindow {
			end++
		}
		fu := FollowUp{TriggeredBy: first.trigger, WaitUntil: first.at, TaskGroup: first.group, Reason: first.reason}
		for _, p := range fs[start:end] {
			if p.allocID != "" {
				fu.AllocIDs = append(fu.AllocIDs, p.allocID)
			}
		}
		fu.AllocIDs = slices.Compact(fu.AllocIDs)
		if n := end - start; n > 1 {
			last := fs[end-1]
			fu.Reason = "batched " + strconv.Itoa(n) + " " + first.trigger + " follow-ups from " + ts(first.at) +
				" to " + ts(last.at) + " (within 5s of the earliest) at the earliest; first: " + first.reason
		}
		e.res.FollowUps = append(e.res.FollowUps, fu)
		start = end
	}
}
