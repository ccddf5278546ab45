package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSnapshotInspect_NomadFixture(t *testing.T) {
	for _, ext := range []string{".snap", ".state.bin"} {
		code, out, errs := runCmd("snapshot", "inspect", "--nomad", nomadFixture(ext), "--json")
		must.Eq(t, 0, code, must.Sprint(errs))
		must.Eq(t, "", errs)
		var r inspectReport
		must.NoError(t, json.Unmarshal([]byte(out), &r))
		must.Eq(t, "nomad", r.Source)
		must.Eq(t, uint64(1006), r.Index)
		must.Eq(t, uint64(1001), r.MinIndex)
		must.Eq(t, uint64(1006), r.MaxIndex)
		must.Eq(t, 3, r.Nodes)
		must.Eq(t, map[string]int{"ready": 2, "disconnected": 1}, r.NodesByStatus)
		must.Eq(t, 1, r.Jobs)
		must.Eq(t, 1, r.Evals)
		must.Eq(t, 3, r.Allocs)
		must.Eq(t, map[string]int{"running": 3}, r.AllocsByClientStatus)
		must.Eq(t, 0, r.AwaitingReconnect)
		must.Eq(t, 0, r.Expired)
		must.Eq(t, fixtureAt, r.LastTime.Format(time.RFC3339Nano))
		must.Eq(t, fixtureAt, r.At.Format(time.RFC3339Nano))
		must.Eq(t, "2026-11-21T22:59:56.800340728Z", r.FirstTime.Format(time.RFC3339Nano))
	}
	code, out, _ := runCmd("snapshot", "inspect", "--nomad", nomadFixture(".snap"))
	must.Eq(t, 0, code)
	must.StrContains(t, out, "nodes                   3 (disconnected 1, ready 2)")
	must.StrContains(t, out, "allocations             3 (running 3)")
	must.StrContains(t, out, "past disconnect window  0")
}

// unknownStore is a rejoin store with allocs in mixed states: a1 running,
// a2 unknown since t0 (lost after 5m), a3 unknown since t0+4m, a4 failed.
func unknownStore(t *testing.T) (*state.Store, time.Time) {
	t.Helper()
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	job := &structs.Job{ID: "web", Namespace: "default", Type: "service", TaskGroups: []*structs.TaskGroup{{
		Name: "web", Count: 4, Disconnect: &structs.DisconnectStrategy{LostAfter: 5 * time.Minute}}}, CreateIndex: 5, ModifyIndex: 5}
	mk := func(id, node, status string, unknownAt time.Time) *structs.Allocation {
		a := &structs.Allocation{ID: id, Namespace: "default", Name: "web.web[" + id[1:] + "]", JobID: "web", TaskGroup: "web",
			NodeID: node, DesiredStatus: "run", ClientStatus: status, CreateIndex: 7, ModifyIndex: 9, CreateTime: t0.Add(-time.Hour).UnixNano()}
		if !unknownAt.IsZero() {
			a.AppendState(structs.AllocStateFieldClientStatus, "unknown", unknownAt)
		}
		return a
	}
	objs := state.Objects{
		Nodes: []*structs.Node{{ID: "n1", Status: "ready", CreateIndex: 2, ModifyIndex: 2}, {ID: "n2", Status: "disconnected", CreateIndex: 3, ModifyIndex: 8}},
		Jobs:  []*structs.Job{job},
		Allocs: []*structs.Allocation{
			mk("a1", "n1", "running", time.Time{}), mk("a2", "n2", "unknown", t0),
			mk("a3", "n2", "unknown", t0.Add(4*time.Minute)), mk("a4", "n1", "failed", time.Time{}),
		},
	}
	st, err := state.LoadStore(objs, 10, hclog.NewNullLogger())
	must.NoError(t, err)
	return st, t0
}

func TestSnapshotInspect_RejoinSnapshotCountsWindows(t *testing.T) {
	st, t0 := unknownStore(t)
	path := filepath.Join(t.TempDir(), "s.snap")
	created := t0.Add(6 * time.Minute)
	_, err := st.SaveSnapshotFile(path, created)
	must.NoError(t, err)

	code, out, errs := runCmd("snapshot", "inspect", path, "--json")
	must.Eq(t, 0, code, must.Sprint(errs))
	var r inspectReport
	must.NoError(t, json.Unmarshal([]byte(out), &r))
	must.Eq(t, "rejoin", r.Source)
	must.Eq(t, uint64(10), r.Index)
	must.Eq(t, created, *r.CreatedAt)
	must.Eq(t, created, r.At, must.Sprint("default time is the snapshot's creation time"))
	must.Eq(t, map[string]int{"running": 1, "unknown": 2, "failed": 1}, r.AllocsByClientStatus)
	must.Eq(t, 2, r.AwaitingReconnect)
	must.Eq(t, 1, r.Expired, must.Sprint("a2 is past t0+5m at t0+6m; a3 is not"))

	// Judged later, both unknown allocs are past their window; earlier, neither.
	_, out, _ = runCmd("snapshot", "inspect", path, "--json", "--at", t0.Add(9*time.Minute).Format(time.RFC3339))
	must.NoError(t, json.Unmarshal([]byte(out), &r))
	must.Eq(t, 2, r.Expired)
	_, out, _ = runCmd("snapshot", "inspect", path, "--json", "--at", t0.Add(time.Minute).Format(time.RFC3339))
	must.NoError(t, json.Unmarshal([]byte(out), &r))
	must.Eq(t, 0, r.Expired)
}

// TestSnapshotExport_RoundTripNomad: export → replay --scenario gives the
// same decisions, byte for byte, as replay --nomad-snapshot for the job.
func TestSnapshotExport_RoundTripNomad(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{".snap", ".state.bin"} {
		for _, at := range []string{"", fixtureAt, "2026-11-22T00:30:00Z"} {
			args := []string{"snapshot", "export-scenario", "--nomad", nomadFixture(ext), "--job", "example"}
			rargs := []string{"replay", "--nomad-snapshot", nomadFixture(ext), "--json", "--job", "example"}
			if at != "" {
				args = append(args, "--at", at)
				rargs = append(rargs, "--at", at)
			}
			code, sc, errs := runCmd(args...)
			must.Eq(t, 0, code, must.Sprint(errs))
			must.StrNotContains(t, sc, "5ec2e700", must.Sprint("node secrets are not exported"))
			p := writeFile(t, dir, "example.json", sc)

			code, fromScenario, errs := runCmd("replay", "--scenario", p, "--json")
			must.Eq(t, 0, code, must.Sprint(errs))
			code, fromSnapshot, _ := runCmd(rargs...)
			must.Eq(t, 0, code)
			var m map[string]json.RawMessage
			must.NoError(t, json.Unmarshal([]byte(fromSnapshot), &m))
			must.Eq(t, compactJSON(t, fromScenario), compactJSON(t, string(m["example"])))
		}
	}
}

// TestSnapshotExport_RoundTripReferenceScenarios puts every reference
// scenario into a rejoin snapshot and checks that replay --snapshot,
// export-scenario → replay --scenario, and the scenario itself all decide
// the same, byte for byte.
func TestSnapshotExport_RoundTripReferenceScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "reconcile", "testdata", "scenarios", "*.json"))
	must.NoError(t, err)
	must.SliceNotEmpty(t, files)
	dir := t.TempDir()
	tested := 0
	for _, f := range files {
		s, err := reconcile.LoadScenario(f)
		must.NoError(t, err)
		if s.Input.EvalID != "" {
			continue // a snapshot replay processes no particular evaluation
		}
		job := s.Input.Job.Copy()
		objs := state.Objects{Jobs: []*structs.Job{job}}
		for _, n := range s.Input.Nodes {
			objs.Nodes = append(objs.Nodes, n.Copy())
		}
		for _, a := range s.Input.Allocs {
			objs.Allocs = append(objs.Allocs, a.Copy())
		}
		st, err := state.LoadStore(objs, 100, hclog.NewNullLogger())
		must.NoError(t, err, must.Sprint(f))
		snap := filepath.Join(dir, filepath.Base(f)+".snap")
		_, err = st.SaveSnapshotFile(snap, s.Input.Now.Add(-time.Hour))
		must.NoError(t, err)

		at := s.Input.Now.Format(time.RFC3339Nano)
		code, want, errs := runCmd("replay", "--scenario", f, "--json")
		must.Eq(t, 0, code, must.Sprint(errs))

		code, got, errs := runCmd("replay", "--snapshot", snap, "--at", at, "--json")
		must.Eq(t, 0, code, must.Sprintf("%s: %s", f, errs))
		var m map[string]json.RawMessage
		must.NoError(t, json.Unmarshal([]byte(got), &m))
		must.MapLen(t, 1, m)
		must.Eq(t, compactJSON(t, want), compactJSON(t, string(m[job.ID])), must.Sprint(f))

		code, sc, errs := runCmd("snapshot", "export-scenario", snap, "--job", job.ID, "--at", at)
		must.Eq(t, 0, code, must.Sprintf("%s: %s", f, errs))
		p := writeFile(t, dir, "exported.json", sc)
		code, again, errs := runCmd("replay", "--scenario", p, "--json")
		must.Eq(t, 0, code, must.Sprintf("%s: %s", f, errs))
		must.Eq(t, compactJSON(t, want), compactJSON(t, again), must.Sprint(f))
		tested++
	}
	must.Greater(t, 20, tested)
}

func compactJSON(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	must.NoError(t, json.Compact(&b, []byte(s)))
	return b.String()
}

func TestSnapshot_BadInput(t *testing.T) {
	dir := t.TempDir()
	junk := writeFile(t, dir, "junk", "not a snapshot at all")
	cases := map[string]struct {
		args []string
		want string
	}{
		"no subcommand":        {[]string{"snapshot"}, "Usage"},
		"unknown subcommand":   {[]string{"snapshot", "frob"}, `unknown subcommand "frob"`},
		"no file":              {[]string{"snapshot", "inspect", "--json"}, "exactly one FILE"},
		"two files":            {[]string{"snapshot", "inspect", junk, junk}, "exactly one FILE"},
		"missing file":         {[]string{"snapshot", "inspect", filepath.Join(dir, "nope")}, "no such file"},
		"junk as rejoin":       {[]string{"snapshot", "inspect", junk}, "snapshot"},
		"junk as nomad":        {[]string{"snapshot", "inspect", "--nomad", junk}, "state.bin offset 0"},
		"export without job":   {[]string{"snapshot", "export-scenario", "--nomad", nomadFixture(".snap")}, "--job ID is required"},
		"export unknown job":   {[]string{"snapshot", "export-scenario", "--nomad", nomadFixture(".snap"), "--job", "x"}, `--job "x": no such job`},
		"bad at":               {[]string{"snapshot", "inspect", "--nomad", nomadFixture(".snap"), "--at", "noon"}, `--at "noon"`},
		"export junk as nomad": {[]string{"snapshot", "export-scenario", "--nomad", junk, "--job", "x"}, "state.bin"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCmd(tc.args...)
			must.Eq(t, 2, code)
			must.Eq(t, "", out)
			must.StrContains(t, errs, tc.want)
			if !strings.Contains(errs, "Usage") {
				must.Eq(t, 1, strings.Count(errs, "\n"), must.Sprintf("want one line, got %q", errs))
			}
		})
	}
}
