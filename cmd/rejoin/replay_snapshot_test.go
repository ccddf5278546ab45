package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/reconcile"
)

// The real Nomad v1.9.7 fixture, copied into nomad/testdata.
const fixtureBase = "f1-01-disconnect-lost-after-default-replace"

func nomadFixture(ext string) string {
	return filepath.Join("..", "..", "nomad", "testdata", fixtureBase+ext)
}

const fixtureAt = "2026-11-21T23:59:56.800340728Z"

// decodeDecisions parses replay's --json output.
func decodeDecisions(t *testing.T, out string) map[string]*reconcile.Results {
	t.Helper()
	var m map[string]*reconcile.Results
	must.NoError(t, json.Unmarshal([]byte(out), &m))
	return m
}

// TestReplayNomad_FixtureDecisions is the fixture README's acceptance: for
// job example, Disconnect the alloc on n3, FollowUps max-disconnect-timeout
// at +5m and alloc-reschedule at +5s, nothing placed. Both file forms.
func TestReplayNomad_FixtureDecisions(t *testing.T) {
	now, err := time.Parse(time.RFC3339Nano, fixtureAt)
	must.NoError(t, err)
	for _, ext := range []string{".snap", ".state.bin"} {
		t.Run(ext, func(t *testing.T) {
			for _, extra := range [][]string{{"--at", fixtureAt}, nil, {"--at", fixtureAt, "--job", "example"}, {"--job", "default/example"}} {
				args := append([]string{"--nomad-snapshot", nomadFixture(ext), "--json"}, extra...)
				code, out, errs := runArgs(args...)
				must.Eq(t, 0, code, must.Sprintf("%v: %s", args, errs))
				must.Eq(t, "", errs)
				m := decodeDecisions(t, out)
				must.MapLen(t, 1, m)
				res := m["example"]
				must.NotNil(t, res)
				want := &reconcile.Results{
					Place: []reconcile.Placement{}, Stop: []reconcile.Stop{},
					Disconnect: []reconcile.AllocDecision{{AllocID: "a0000000-0000-4000-8000-000000000003"}},
					Reconnect:  []reconcile.AllocDecision{}, Update: []reconcile.AllocDecision{},
					FollowUps: []reconcile.FollowUp{
						{TriggeredBy: "alloc-reschedule", WaitUntil: now.Add(5 * time.Second)},
						{TriggeredBy: "max-disconnect-timeout", WaitUntil: now.Add(5 * time.Minute)},
					},
				}
				must.Eq(t, "", reconcile.Diff(want, res), must.Sprintf("args %v", args))
				must.SliceEmpty(t, res.Place)
				must.Len(t, 2, res.FollowUps)
				must.Eq(t, now.Add(5*time.Second), res.FollowUps[0].WaitUntil)
				must.Eq(t, now.Add(5*time.Minute), res.FollowUps[1].WaitUntil)
			}
		})
	}
}

func TestReplayNomad_AtMovesTheClock(t *testing.T) {
	// Ten minutes on nothing has changed in the snapshot: the alloc is still
	// running on a disconnected node, so it is disconnected now, at the
	// new time.
	code, out, _ := runArgs("--nomad-snapshot", nomadFixture(".snap"), "--json", "--at", "2026-11-22T00:10:00Z")
	must.Eq(t, 0, code)
	res := decodeDecisions(t, out)["example"]
	must.Len(t, 1, res.Disconnect)
	must.Eq(t, time.Date(2026, 11, 22, 0, 15, 0, 0, time.UTC), res.FollowUps[1].WaitUntil)
}

func TestReplayNomad_Table(t *testing.T) {
	code, out, errs := runArgs("--nomad-snapshot", nomadFixture(".snap"), "--at", fixtureAt)
	must.Eq(t, 0, code)
	must.Eq(t, "", errs)
	must.StrContains(t, out, "nomad snapshot at index 1006, reconciled at "+fixtureAt)
	must.StrContains(t, out, "job example")
	must.StrContains(t, out, "disconnect  a0000000-0000-4000-8000-000000000003")
	must.StrContains(t, out, "row 7")
	must.StrContains(t, out, "max-disconnect-timeout at 2026-11-22T00:04:56Z")
}

// TestReplayNomad_Deterministic: the same snapshot replayed twice gives
// byte-identical decision JSON.
func TestReplayNomad_Deterministic(t *testing.T) {
	for _, ext := range []string{".snap", ".state.bin"} {
		_, first, _ := runArgs("--nomad-snapshot", nomadFixture(ext), "--json")
		_, second, _ := runArgs("--nomad-snapshot", nomadFixture(ext), "--json")
		must.NotEq(t, "", first)
		must.Eq(t, first, second)
	}
	_, a, _ := runArgs("--nomad-snapshot", nomadFixture(".snap"), "--json")
	_, b, _ := runArgs("--nomad-snapshot", nomadFixture(".state.bin"), "--json")
	must.Eq(t, a, b, must.Sprint("archive and bare state.bin give the same decisions"))
}

func TestReplaySnapshot_BadInput(t *testing.T) {
	dir := t.TempDir()
	snap, err := os.ReadFile(nomadFixture(".snap"))
	must.NoError(t, err)
	corrupt := append([]byte(nil), snap...)
	corrupt[len(corrupt)/2] ^= 0xff
	state, err := os.ReadFile(nomadFixture(".state.bin"))
	must.NoError(t, err)
	cases := map[string]struct {
		args []string
		want string
	}{
		"missing file":      {[]string{"--nomad-snapshot", filepath.Join(dir, "nope")}, "no such file"},
		"corrupt archive":   {[]string{"--nomad-snapshot", writeFile(t, dir, "c.snap", string(corrupt))}, "archive"},
		"truncated":         {[]string{"--nomad-snapshot", writeFile(t, dir, "t.bin", string(state[:len(state)-100]))}, "truncated"},
		"not a snapshot":    {[]string{"--nomad-snapshot", writeFile(t, dir, "x.json", `{"Now": 1}`)}, "state.bin offset 0"},
		"bad --at":          {[]string{"--nomad-snapshot", nomadFixture(".snap"), "--at", "yesterday"}, `--at "yesterday"`},
		"unknown job":       {[]string{"--nomad-snapshot", nomadFixture(".snap"), "--job", "nope"}, `--job "nope": no such job`},
		"both snapshots":    {[]string{"--nomad-snapshot", nomadFixture(".snap"), "--snapshot", "x"}, "not both"},
		"until with nomad":  {[]string{"--nomad-snapshot", nomadFixture(".snap"), "--until", "5"}, "--snapshot only"},
		"until without log": {[]string{"--snapshot", "x", "--until", "5"}, "--log"},
		"until and at":      {[]string{"--snapshot", "x", "--log", dir, "--until", "5", "--at", fixtureAt}, "not both"},
		"with --scenario":   {[]string{"--nomad-snapshot", nomadFixture(".snap"), "--scenario", "x.json"}, "cannot be combined"},
		"--at alone":        {[]string{"--at", fixtureAt}, "need --snapshot"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			for _, extra := range [][]string{nil, {"--json"}} {
				code, out, errs := runArgs(append(tc.args, extra...)...)
				must.Eq(t, 2, code)
				must.Eq(t, "", out)
				must.StrContains(t, errs, tc.want)
				must.Eq(t, 1, strings.Count(errs, "\n"), must.Sprintf("want one line, got %q", errs))
			}
		})
	}
}

// TestReplayRejoinSnapshot_DeterministicAndDefaultTime: a rejoin snapshot
// replayed twice gives byte-identical JSON; without --at the reconciler
// runs at the snapshot's creation time.
func TestReplayRejoinSnapshot_DeterministicAndDefaultTime(t *testing.T) {
	st, t0 := unknownStore(t)
	path := filepath.Join(t.TempDir(), "s.snap")
	created := t0.Add(6 * time.Minute)
	_, err := st.SaveSnapshotFile(path, created)
	must.NoError(t, err)

	code, first, errs := runArgs("--snapshot", path, "--json")
	must.Eq(t, 0, code, must.Sprint(errs))
	_, second, _ := runArgs("--snapshot", path, "--json")
	must.Eq(t, first, second)
	_, explicit, _ := runArgs("--snapshot", path, "--json", "--at", created.Format(time.RFC3339Nano))
	must.Eq(t, first, explicit)

	// At t0+6m a2 (unknown since t0, lost after 5m) has expired: stopped
	// as lost and replaced; a3 (unknown since t0+4m) is not lost but gets
	// its replacement (row 4, delay 0); failed a4 is rescheduled at once.
	res := decodeDecisions(t, first)["web"]
	must.NotNil(t, res)
	must.Len(t, 2, res.Stop)
	must.Eq(t, reconcile.Stop{AllocID: "a2", ClientStatus: "lost"}, reconcile.Stop{AllocID: res.Stop[0].AllocID, ClientStatus: res.Stop[0].ClientStatus})
	must.Eq(t, "a4", res.Stop[1].AllocID)
	must.Len(t, 3, res.Place)
	for i, prev := range []string{"a2", "a3", "a4"} {
		must.Eq(t, prev, res.Place[i].PreviousAllocation)
	}
}
