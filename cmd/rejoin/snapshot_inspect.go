package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// inspectReport is what `rejoin snapshot inspect` prints.
type inspectReport struct {
	Source string
	File   string
	// Index is the snapshot's raft index; MinIndex and MaxIndex the
	// lowest CreateIndex and highest ModifyIndex of its objects.
	Index              uint64
	MinIndex, MaxIndex uint64
	// FirstTime and LastTime bound the times the objects carry.
	FirstTime, LastTime time.Time
	CreatedAt           *time.Time `json:",omitempty"`
	// At is the time AwaitingReconnect and Expired are judged at.
	At                   time.Time
	Nodes                int
	NodesByStatus        map[string]int
	Jobs                 int
	Evals                int
	Allocs               int
	AllocsByClientStatus map[string]int
	// AwaitingReconnect counts allocs whose last recorded client status
	// is unknown (NeedsToReconnect).
	AwaitingReconnect int
	// Expired counts unknown allocs past their group's disconnect window
	// at At.
	Expired int
	Notes   []string `json:",omitempty"`
}

func runSnapshotInspect(args []string, stdout, stderr io.Writer) int {
	a, code, ok := parseSnapshotArgs("inspect", args, false, stderr)
	if !ok {
		return code
	}
	v, now, err := a.load(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin snapshot inspect: %v\n", oneLine(err))
		return exitBadInput
	}
	r := inspect(v, now)
	r.File = a.file
	if a.json {
		b, err := json.MarshalIndent(r, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "rejoin snapshot inspect: %v\n", err)
			return exitBadInput
		}
		_, _ = stdout.Write(append(b, '\n'))
		return exitOK
	}
	printInspect(stdout, r)
	return exitOK
}

func inspect(v *stateView, now time.Time) *inspectReport {
	r := &inspectReport{
		Source: v.Source, Index: v.Index, At: now, Notes: v.Notes,
		Nodes: len(v.Nodes), Jobs: len(v.Jobs), Evals: len(v.Evals), Allocs: len(v.Allocs),
		NodesByStatus: map[string]int{}, AllocsByClientStatus: map[string]int{},
	}
	if !v.CreatedAt.IsZero() {
		t := v.CreatedAt.UTC()
		r.CreatedAt = &t
	}
	r.FirstTime, r.LastTime = v.timeSpan()
	seeIndex := func(create, modify uint64) {
		if create > 0 && (r.MinIndex == 0 || create < r.MinIndex) {
			r.MinIndex = create
		}
		r.MaxIndex = max(r.MaxIndex, modify, create)
	}
	for _, n := range v.Nodes {
		r.NodesByStatus[n.Status]++
		seeIndex(n.CreateIndex, n.ModifyIndex)
	}
	for _, j := range v.Jobs {
		seeIndex(j.CreateIndex, j.ModifyIndex)
	}
	for _, e := range v.Evals {
		seeIndex(e.CreateIndex, e.ModifyIndex)
	}
	jobs := map[structs.NamespacedID]*structs.Job{}
	for _, j := range v.Jobs {
		jobs[j.NamespacedID()] = j
	}
	for _, al := range v.Allocs {
		seeIndex(al.CreateIndex, al.ModifyIndex)
		r.AllocsByClientStatus[al.ClientStatus]++
		if al.NeedsToReconnect() {
			r.AwaitingReconnect++
		}
		tg := jobs[allocJob(al)].LookupTaskGroup(al.TaskGroup)
		if al.Expired(now, tg.LostAfter()) {
			r.Expired++
		}
	}
	return r
}

func printInspect(w io.Writer, r *inspectReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "snapshot\t%s (%s)\n", r.File, r.Source)
	fmt.Fprintf(tw, "index\t%d (objects %d..%d)\n", r.Index, r.MinIndex, r.MaxIndex)
	if r.CreatedAt != nil {
		fmt.Fprintf(tw, "created\t%s\n", r.CreatedAt.Format(time.RFC3339Nano))
	}
	fmt.Fprintf(tw, "time span\t%s .. %s\n", fmtTime(r.FirstTime), fmtTime(r.LastTime))
	fmt.Fprintf(tw, "judged at\t%s\n", r.At.Format(time.RFC3339Nano))
	fmt.Fprintf(tw, "nodes\t%d%s\n", r.Nodes, fmtCounts(r.NodesByStatus))
	fmt.Fprintf(tw, "jobs\t%d\n", r.Jobs)
	fmt.Fprintf(tw, "evaluations\t%d\n", r.Evals)
	fmt.Fprintf(tw, "allocations\t%d%s\n", r.Allocs, fmtCounts(r.AllocsByClientStatus))
	fmt.Fprintf(tw, "awaiting reconnect\t%d\n", r.AwaitingReconnect)
	fmt.Fprintf(tw, "past disconnect window\t%d\n", r.Expired)
	for _, n := range r.Notes {
		fmt.Fprintf(tw, "note\t%s\n", n)
	}
	tw.Flush()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339Nano)
}

// fmtCounts renders " (ready 2, down 1)" in key order.
func fmtCounts(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
