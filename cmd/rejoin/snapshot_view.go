package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/nomad"
	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// stateView is a recorded state the replay and snapshot commands work on,
// whichever file it came from: the objects, and what is known of when.
type stateView struct {
	Source    string // "nomad" or "rejoin"
	Nodes     []*structs.Node
	Jobs      []*structs.Job
	Allocs    []*structs.Allocation
	Evals     []*structs.Evaluation
	Index     uint64
	CreatedAt time.Time // rejoin snapshots only
	// LastRecordTime is the time of the last command log record replayed.
	LastRecordTime time.Time
	Notes          []string
}

// badInputError marks an error as the user's input: the command exits 2.
type badInputError struct{ err error }

func (e *badInputError) Error() string { return e.err.Error() }
func (e *badInputError) Unwrap() error { return e.err }

func badInput(format string, args ...any) error {
	return &badInputError{fmt.Errorf(format, args...)}
}

// loadNomadView reads a Nomad archive or bare state.bin.
func loadNomadView(path string, stderr io.Writer) (*stateView, error) {
	rd := &nomad.Reader{}
	if p := newProgress(stderr, "reading "+path); p != nil {
		rd.Progress = func(pr nomad.Progress) { p.update(pr.Records, pr.Offset, pr.Total) }
		defer p.done()
	}
	im, err := rd.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &stateView{
		Source: "nomad", Nodes: im.Nodes, Jobs: im.Jobs, Allocs: im.Allocs, Evals: im.Evals,
		Index: im.Index, Notes: im.Notes,
	}, nil
}

// loadRejoinView reads a rejoin snapshot file, verified as a whole.
func loadRejoinView(path string, stderr io.Writer) (*stateView, *state.Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if p := newProgress(stderr, "reading "+path); p != nil {
		if info, err := f.Stat(); err == nil {
			r = &progressReader{r: f, p: p, total: info.Size()}
		}
		defer p.done()
	}
	st, meta, err := state.ReadSnapshot(r, hclog.NewNullLogger())
	if err != nil {
		return nil, nil, err
	}
	v, err := viewFromStore(st)
	if err != nil {
		return nil, nil, err
	}
	v.CreatedAt = meta.CreatedAt
	return v, st, nil
}

// viewFromStore lists a store's contents.
func viewFromStore(st *state.Store) (*stateView, error) {
	v := &stateView{Source: "rejoin", Index: st.LatestIndex()}
	var err error
	if v.Nodes, err = st.Nodes(nil); err != nil {
		return nil, err
	}
	if v.Jobs, err = st.Jobs(nil); err != nil {
		return nil, err
	}
	if v.Evals, err = st.Evals(nil); err != nil {
		return nil, err
	}
	it, err := st.Allocs(nil)
	if err != nil {
		return nil, err
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		v.Allocs = append(v.Allocs, raw.(*structs.Allocation))
	}
	sort.Slice(v.Allocs, func(i, j int) bool { return v.Allocs[i].ID < v.Allocs[j].ID })
	return v, nil
}

// jobKey names a job in output: its ID in the default namespace, else
// "namespace/ID".
func jobKey(id structs.NamespacedID) string {
	if id.Namespace == structs.DefaultNamespace {
		return id.ID
	}
	return id.String()
}

func allocJob(a *structs.Allocation) structs.NamespacedID {
	ns := a.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return structs.NamespacedID{Namespace: ns, ID: a.JobID}
}

// selectJobs returns every job, or the one named by want (an ID, or
// "namespace/ID"). An unknown or ambiguous name is bad input.
func (v *stateView) selectJobs(want string) ([]*structs.Job, error) {
	if want == "" {
		return v.Jobs, nil
	}
	var out []*structs.Job
	for _, j := range v.Jobs {
		id := j.NamespacedID()
		if want == id.ID || want == id.String() {
			out = append(out, j)
		}
	}
	switch len(out) {
	case 0:
		return nil, badInput("--job %q: no such job in the snapshot", want)
	case 1:
		return out, nil
	}
	return nil, badInput("--job %q: the ID is in several namespaces; write namespace/ID", want)
}

// allocsByJob groups allocations by their job.
func (v *stateView) allocsByJob() map[structs.NamespacedID][]*structs.Allocation {
	m := map[structs.NamespacedID][]*structs.Allocation{}
	for _, a := range v.Allocs {
		k := allocJob(a)
		m[k] = append(m[k], a)
	}
	return m
}

func (v *stateView) nodeMap() map[string]*structs.Node {
	m := make(map[string]*structs.Node, len(v.Nodes))
	for _, n := range v.Nodes {
		m[n.ID] = n
	}
	return m
}

// compute runs the reconciler for each job at now: job key → results.
func (v *stateView) compute(jobs []*structs.Job, now time.Time) map[string]*reconcile.Results {
	byJob := v.allocsByJob()
	nodes := v.nodeMap()
	out := make(map[string]*reconcile.Results, len(jobs))
	for _, j := range jobs {
		out[jobKey(j.NamespacedID())] = reconcile.Compute(reconcile.Input{
			Job: j, Allocs: byJob[j.NamespacedID()], Nodes: nodes, Now: now,
		})
	}
	return out
}

// timeSpan returns the earliest and latest times the recorded objects
// carry: alloc create/modify times, AllocState and task times, evaluation
// create/modify times and node status updates (WaitUntil is a future time
// and does not count). Zero times when there are none.
func (v *stateView) timeSpan() (first, last time.Time) {
	see := func(t time.Time) {
		if t.IsZero() || t.Unix() <= 0 {
			return
		}
		t = t.UTC()
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	nanos := func(ns int64) {
		if ns > 0 {
			see(time.Unix(0, ns))
		}
	}
	for _, n := range v.Nodes {
		if n.StatusUpdatedAt > 0 {
			see(time.Unix(n.StatusUpdatedAt, 0))
		}
	}
	for _, a := range v.Allocs {
		nanos(a.CreateTime)
		nanos(a.ModifyTime)
		for _, s := range a.AllocStates {
			if s != nil {
				see(s.Time)
			}
		}
		for _, ts := range a.TaskStates {
			if ts != nil {
				see(ts.StartedAt)
				see(ts.FinishedAt)
				see(ts.LastRestart)
			}
		}
	}
	for _, e := range v.Evals {
		nanos(e.CreateTime)
		nanos(e.ModifyTime)
	}
	see(v.CreatedAt)
	see(v.LastRecordTime)
	return first, last
}

// defaultNow picks the reconciler's clock when --at is not given: for a
// rejoin snapshot the time of the last replayed log record, else the
// snapshot's creation time; for a Nomad snapshot (which records no time of
// its own) the latest time found in its objects.
func (v *stateView) defaultNow() (time.Time, error) {
	switch {
	case !v.LastRecordTime.IsZero():
		return v.LastRecordTime.UTC(), nil
	case !v.CreatedAt.IsZero():
		return v.CreatedAt.UTC(), nil
	}
	if _, last := v.timeSpan(); !last.IsZero() {
		return last, nil
	}
	return time.Time{}, badInput("the snapshot records no time; give --at TIME")
}

// parseAt reads --at: RFC 3339.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badInput("--at %q: want an RFC 3339 time such as 2026-01-01T00:10:00Z", s)
	}
	return t.UTC(), nil
}
