package reconcile

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Equal reports whether two results are equal under SCENARIOS.md's rules:
// Place as a multiset of (Name, TaskGroup, PreviousAllocation), Stop as a
// set of (AllocID, ClientStatus), Disconnect, Reconnect and Update as sets
// of AllocID, FollowUps as a multiset of (TriggeredBy, WaitUntil). Reasons,
// descriptions, NodeIDs, TaskGroups and AllocIDs of follow-ups are ignored.
func Equal(want, got *Results) bool { return Diff(want, got) == "" }

// Diff describes how got differs from want under Equal's rules, on one
// line; "" when they are equal.
func Diff(want, got *Results) string {
	if want == nil {
		want = newResults()
	}
	if got == nil {
		got = newResults()
	}
	var parts []string
	add := func(list string, w, g []string, multiset bool) {
		if !multiset {
			w, g = slices.Compact(sorted(w)), slices.Compact(sorted(g))
		}
		missing, extra := multisetDiff(w, g)
		if len(missing) > 0 {
			parts = append(parts, fmt.Sprintf("%s missing %s", list, strings.Join(missing, ", ")))
		}
		if len(extra) > 0 {
			parts = append(parts, fmt.Sprintf("%s unexpected %s", list, strings.Join(extra, ", ")))
		}
	}
	add("Place", placeKeys(want.Place), placeKeys(got.Place), true)
	add("Stop", stopKeys(want.Stop), stopKeys(got.Stop), false)
	add("Disconnect", idKeys(want.Disconnect), idKeys(got.Disconnect), false)
	add("Reconnect", idKeys(want.Reconnect), idKeys(got.Reconnect), false)
	add("Update", idKeys(want.Update), idKeys(got.Update), false)
	add("FollowUps", followUpKeys(want.FollowUps), followUpKeys(got.FollowUps), true)
	return strings.Join(parts, "; ")
}

func sorted(s []string) []string {
	slices.Sort(s)
	return s
}

// multisetDiff returns what want has more of than got, and the reverse.
func multisetDiff(want, got []string) (missing, extra []string) {
	want, got = sorted(want), sorted(got)
	i, j := 0, 0
	for i < len(want) || j < len(got) {
		switch {
		case j >= len(got) || (i < len(want) && want[i] < got[j]):
			missing = append(missing, want[i])
			i++
		case i >= len(want) || got[j] < want[i]:
			extra = append(extra, got[j])
			j++
		default:
			i++
			j++
		}
	}
	return missing, extra
}

func placeKeys(ps []Placement) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("{Name:%s TaskGroup:%s PreviousAllocation:%q}", p.Name, p.TaskGroup, p.PreviousAllocation)
	}
	return out
}

func stopKeys(ss []Stop) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("{AllocID:%s ClientStatus:%q}", s.AllocID, s.ClientStatus)
	}
	return out
}

func idKeys(ds []AllocDecision) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.AllocID
	}
	return out
}

func followUpKeys(fs []FollowUp) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = fmt.Sprintf("{TriggeredBy:%s WaitUntil:%s}", f.TriggeredBy, f.WaitUntil.UTC().Format(time.RFC3339Nano))
	}
	return out
}
