package reconcile

import (
	"fmt"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// reschedulable reports whether the group's ReschedulePolicy (or the
// default: 2 attempts per hour, no delay) allows another reschedule of a:
// Unlimited, or fewer than Attempts reschedule events with Now − t < Interval.
// The string says why, for reasons.
func reschedulable(a *structs.Allocation, p structs.ReschedulePolicy, now time.Time) (bool, string) {
	if p.Unlimited {
		return true, "reschedule unlimited"
	}
	n := 0
	if a.RescheduleTracker != nil {
		for _, ev := range a.RescheduleTracker.Events {
			if ev != nil && now.Sub(time.Unix(0, ev.RescheduleTime)) < p.Interval {
				n++
			}
		}
	}
	if n == 0 && p.Attempts > 0 {
		return true, "no reschedule attempts used"
	}
	if n < p.Attempts {
		return true, fmt.Sprintf("%d of %d reschedule attempts used in the last %s", n, p.Attempts, p.Interval)
	}
	return false, fmt.Sprintf("reschedule attempts exhausted: %d of %d used in the last %s", n, p.Attempts, p.Interval)
}

// failedAt is t0 for a failed alloc: the latest task FinishedAt, else now.
func failedAt(a *structs.Allocation, now time.Time) time.Time {
	var t time.Time
	for _, ts := range a.TaskStates {
		if ts != nil && ts.FinishedAt.After(t) {
			t = ts.FinishedAt
		}
	}
	if t.IsZero() {
		return now
	}
	return t
}

// rescheduleAt is when a reschedule of a is due: t0 + Delay, where t0 is
// when it last went unknown (for an unknown alloc) or when it failed.
func rescheduleAt(a *structs.Allocation, p structs.ReschedulePolicy, now time.Time) time.Time {
	if a.ClientStatus == structs.AllocClientStatusUnknown {
		return a.LastUnknown().Add(p.Delay)
	}
	return failedAt(a, now).Add(p.Delay)
}

// hasOtherFollowUp reports whether a already waits for another evaluation:
// its FollowupEvalID is set and is not the evaluation being processed.
func (e *engine) hasOtherFollowUp(a *structs.Allocation) bool {
	return a.FollowupEvalID != "" && a.FollowupEvalID != e.in.EvalID
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "(never)"
	}
	return t.UTC().Format(time.RFC3339)
}
