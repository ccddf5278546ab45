package reconcile

import (
	"fmt"
	"strconv"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// pick decides between a reconnecting original and one of its replacements:
// it reports whether the replacement is kept, and why.
func (e *engine) pick(orig, repl *structs.Allocation, strategy string) (bool, string) {
	if repl.JobVersion > orig.JobVersion {
		return true, fmt.Sprintf("replacement %s has newer job version %d > original %d", repl.ID, repl.JobVersion, orig.JobVersion)
	}
	switch strategy {
	case structs.ReconcileOptionKeepOriginal:
		return false, "keep_original"
	case structs.ReconcileOptionKeepReplacement:
		return true, "keep_replacement"
	case structs.ReconcileOptionLongestRunning:
		return e.pickLongestRunning(orig, repl)
	}
	return e.pickBestScore(orig, repl, "best_score")
}

// pickBestScore keeps the replacement only if its max NormScore is strictly
// higher (or the original has none and it has one) and it is running or the
// original is not. Ties keep the original.
func (e *engine) pickBestScore(orig, repl *structs.Allocation, label string) (bool, string) {
	os, oOK := orig.Metrics.MaxNormScore()
	rs, rOK := repl.Metrics.MaxNormScore()
	higher := rOK && (!oOK || rs > os)
	scores := "replacement " + repl.ID + " " + e.score(rs, rOK) + " vs original " + orig.ID + " " + e.score(os, oOK)
	if !higher {
		return false, label + ": " + scores + ", replacement not strictly higher → keep original"
	}
	replRunning := repl.ClientStatus == structs.AllocClientStatusRunning
	origRunning := orig.ClientStatus == structs.AllocClientStatusRunning
	if !replRunning && origRunning {
		return false, label + ": " + scores + " higher but replacement is " + repl.ClientStatus + " and original running → keep original"
	}
	return true, label + ": " + scores + " strictly higher → keep replacement"
}

// score formats a NormScore for reasons, memoised: a group's allocs share
// few distinct scores.
func (e *engine) score(s float64, ok bool) string {
	if !ok {
		return "(no score)"
	}
	if v, hit := e.scoreText[s]; hit {
		return v
	}
	if e.scoreText == nil {
		e.scoreText = make(map[float64]string)
	}
	v := strconv.FormatFloat(s, 'g', 4, 64)
	e.scoreText[s] = v
	return v
}

// pickLongestRunning keeps the alloc whose tasks have run longer since
// their last start. A missing start loses to a present one, equal starts
// keep the original, both missing falls back to best_score.
func (e *engine) pickLongestRunning(orig, repl *structs.Allocation) (bool, string) {
	o, r := allocStart(orig), allocStart(repl)
	switch {
	case o.IsZero() && r.IsZero():
		return e.pickBestScore(orig, repl, "longest_running: no start times, falling back to best_score")
	case r.IsZero():
		return false, fmt.Sprintf("longest_running: replacement %s has no start, original started %s → keep original", repl.ID, ts(o))
	case o.IsZero():
		return true, fmt.Sprintf("longest_running: original %s has no start, replacement started %s → keep replacement", orig.ID, ts(r))
	case r.Before(o):
		return true, fmt.Sprintf("longest_running: replacement started %s before original %s → keep replacement", ts(r), ts(o))
	}
	return false, fmt.Sprintf("longest_running: original started %s, replacement %s → keep original", ts(o), ts(r))
}

// allocStart is the earliest last start over the alloc's tasks: LastRestart
// when the task restarted, else StartedAt. Zero when no task has one.
func allocStart(a *structs.Allocation) time.Time {
	var start time.Time
	for _, t := range a.TaskStates {
		if t == nil {
			continue
		}
		s := t.StartedAt
		if t.Restarts > 0 && !t.LastRestart.IsZero() {
			s = t.LastRestart
		}
		if !s.IsZero() && (start.IsZero() || s.Before(start)) {
			start = s
		}
	}
	return start
}
