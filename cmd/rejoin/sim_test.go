package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/cmdlog"
	"github.com/rejoinhq/rejoin/state"
)

var smallSim = []string{"sim", "--nodes", "8", "--jobs", "3", "--duration", "12m"}

// runCLI runs the whole command line (unlike replay's runArgs, which adds
// "replay").
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func simArgs(extra ...string) []string { return append(append([]string{}, smallSim...), extra...) }

func TestSim_SummaryAndPass(t *testing.T) {
	code, stdout, stderr := runCLI(simArgs("--seed", "3")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	for _, want := range []string{"seed 3: 8 nodes, 3 jobs", "Nodes", "reconnected", "Allocations",
		"Decisions by rule", "Invariants (I1-I8)", "checks passed", "simulated in", "RESULT: PASS"} {
		must.StrContains(t, stdout, want)
	}
}

func TestSim_JSONIsDeterministic(t *testing.T) {
	code, out1, stderr := runCLI(simArgs("--seed", "5", "--json")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	var s1, s2 simSummary
	must.NoError(t, json.Unmarshal([]byte(out1), &s1))
	must.Eq(t, "pass", s1.Result)
	must.Eq(t, uint64(5), s1.Seed)
	must.SliceEmpty(t, s1.Violations)
	must.Positive(t, s1.Checks)
	must.SliceNotEmpty(t, s1.Trace)
	_, out2, _ := runCLI(simArgs("--seed", "5", "--json")...)
	must.NoError(t, json.Unmarshal([]byte(out2), &s2))
	must.Eq(t, s1.TraceHash, s2.TraceHash)
}

func TestSim_ManySeeds(t *testing.T) {
	code, stdout, stderr := runCLI(simArgs("--seed", "10", "--seeds", "4", "--json")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	var sum seedsSummary
	must.NoError(t, json.Unmarshal([]byte(stdout), &sum))
	must.Eq(t, 4, sum.Seeds)
	must.Eq(t, uint64(10), sum.From)
	must.SliceEmpty(t, sum.Failed)
	must.Eq(t, "pass", sum.Result)
}

func TestSim_TimelineAndRecord(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "tl.html")
	rec := filepath.Join(dir, "rec")
	code, stdout, stderr := runCLI(simArgs("--timeline", html, "--record", rec, "--json")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	var sum simSummary
	must.NoError(t, json.Unmarshal([]byte(stdout), &sum))

	page, err := os.ReadFile(html)
	must.NoError(t, err)
	must.StrContains(t, string(page), "<svg")
	must.StrContains(t, string(page), "node-000")
	must.StrNotContains(t, string(page), "http://") // no external assets...
	must.StrNotContains(t, string(page), "<script") // ...and no scripts

	// The recording is in rejoin's own formats: the starting snapshot plus
	// the whole command log rebuild exactly the final snapshot's state.
	store, meta, err := state.OpenSnapshotFile(filepath.Join(rec, "start.snap"), nil)
	must.NoError(t, err)
	must.Eq(t, uint64(0), meta.Index)
	n := 0
	must.NoError(t, cmdlog.ReadDir(filepath.Join(rec, "log"), func(cmdlog.Record) error { n++; return nil }))
	must.Eq(t, sum.Stats.Commands, n)
	last, err := cmdlog.ReplayInto(store, filepath.Join(rec, "log"), 0, time.Time{})
	must.NoError(t, err)
	final, fmeta, err := state.OpenSnapshotFile(filepath.Join(rec, "state.snap"), nil)
	must.NoError(t, err)
	must.Eq(t, fmeta.Index, last)
	replayed, err := store.StateHash()
	must.NoError(t, err)
	want, err := final.StateHash()
	must.NoError(t, err)
	must.Eq(t, want, replayed)
	nodes, err := store.Nodes(nil)
	must.NoError(t, err)
	must.Len(t, 8, nodes)
	for _, name := range []string{"README.txt", "summary.json"} {
		_, err := os.Stat(filepath.Join(rec, name))
		must.NoError(t, err)
	}

	// rejoin replay reads the recording, at the end and part way through.
	at := fmeta.CreatedAt.Format(time.RFC3339Nano)
	code, fromLog, stderr := runCLI("replay", "--snapshot", filepath.Join(rec, "start.snap"), "--log", filepath.Join(rec, "log"), "--at", at, "--json")
	must.Eq(t, 0, code, must.Sprint(stderr))
	code, fromFinal, stderr := runCLI("replay", "--snapshot", filepath.Join(rec, "state.snap"), "--at", at, "--json")
	must.Eq(t, 0, code, must.Sprint(stderr))
	must.Eq(t, fromFinal, fromLog)
	code, _, stderr = runCLI("replay", "--snapshot", filepath.Join(rec, "start.snap"), "--log", filepath.Join(rec, "log"), "--until", "5", "--json")
	must.Eq(t, 0, code, must.Sprint(stderr))

	// A second recording into the same directory is refused, not appended.
	code, _, stderr = runCLI(simArgs("--record", rec)...)
	must.Eq(t, 2, code)
	must.StrContains(t, stderr, "already holds a recording")
}

func TestSim_BadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--nodes", "0"},
		{"sim", "--duration", "-1s"},
		{"sim", "--partition-fraction", "2"},
		{"sim", "--seeds", "2", "--timeline", "x.html"},
		{"sim", "--bogus"},
		{"sim", "extra"},
	} {
		code, stdout, stderr := runCLI(args...)
		must.Eq(t, 2, code, must.Sprint(args))
		must.Eq(t, "", stdout)
		must.True(t, strings.TrimSpace(stderr) != "")
	}
}
