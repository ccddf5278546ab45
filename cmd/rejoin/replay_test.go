package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// disconnectScenario is 01-disconnect-replace in miniature: a3 on a
// disconnected node is marked unknown and replaced. status is a3's
// ClientStatus, so tests can break it.
func disconnectScenario(status, expectPlace string) string {
	return `{
  "Name": "mini", "Now": "2026-01-01T00:10:00Z",
  "Job": {"ID": "web", "Type": "service", "TaskGroups": [{"Name": "web", "Count": 2, "Disconnect": {"LostAfter": "5m"}}]},
  "Nodes": [{"ID": "n1", "Status": "ready"}, {"ID": "n2", "Status": "disconnected"}],
  "Allocs": [
    {"ID": "a1", "Name": "web.web[0]", "NodeID": "n1", "TaskGroup": "web", "DesiredStatus": "run", "ClientStatus": "running"},
    {"ID": "a2", "Name": "web.web[1]", "NodeID": "n2", "TaskGroup": "web", "DesiredStatus": "run", "ClientStatus": "` + status + `"}
  ],
  "Expect": {"Place": [{"Name": "` + expectPlace + `", "TaskGroup": "web", "PreviousAllocation": "a2"}],
             "Disconnect": [{"AllocID": "a2"}],
             "FollowUps": [{"TriggeredBy": "max-disconnect-timeout", "WaitUntil": "2026-01-01T00:15:00Z"}]}
}`
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	must.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func runArgs(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(append([]string{"replay"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestReplay_JSONSchema(t *testing.T) {
	p := writeFile(t, t.TempDir(), "s.json", disconnectScenario("running", "web.web[1]"))
	code, out, errs := runArgs("--scenario", p, "--json")
	must.Eq(t, 0, code)
	must.Eq(t, "", errs)

	var obj map[string]json.RawMessage
	must.NoError(t, json.Unmarshal([]byte(out), &obj))
	must.MapLen(t, 6, obj)
	for _, k := range []string{"Place", "Stop", "Disconnect", "Reconnect", "Update", "FollowUps"} {
		raw, ok := obj[k]
		must.True(t, ok, must.Sprintf("missing list %s", k))
		must.StrHasPrefix(t, "[", string(raw), must.Sprintf("%s is not a list", k))
	}
	var res struct {
		Place      []map[string]any
		Disconnect []map[string]any
		FollowUps  []map[string]any
	}
	must.NoError(t, json.Unmarshal([]byte(out), &res))
	must.Len(t, 1, res.Place)
	must.Eq(t, "a2", res.Place[0]["PreviousAllocation"])
	must.NotEq(t, "", res.Place[0]["Reason"])
	must.Eq(t, "a2", res.Disconnect[0]["AllocID"])
	must.Eq(t, "2026-01-01T00:15:00Z", res.FollowUps[0]["WaitUntil"])
}

func TestReplay_TableHasReasons(t *testing.T) {
	p := writeFile(t, t.TempDir(), "s.json", disconnectScenario("running", "web.web[1]"))
	code, out, errs := runArgs("--scenario", p)
	must.Eq(t, 0, code)
	must.Eq(t, "", errs)
	must.StrContains(t, out, "disconnect")
	must.StrContains(t, out, "row 7")
	must.StrContains(t, out, "max-disconnect-timeout")
}

func TestReplay_BadInputExits2WithNothingOnStdout(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]struct{ body, want string }{
		"unknown status": {disconnectScenario("runing", "x"), `Allocs[1].ClientStatus: unknown status "runing"`},
		"bad json":       {`{"Now": `, "bad JSON"},
		"negative duration": {strings.Replace(disconnectScenario("running", "x"), `"5m"`, `"-5m"`, 1),
			"Job.TaskGroups[0].Disconnect.LostAfter: negative duration"},
		"missing group": {strings.Replace(disconnectScenario("running", "x"), `"TaskGroup": "web", "DesiredStatus": "run", "ClientStatus": "running"}`,
			`"TaskGroup": "api", "DesiredStatus": "run", "ClientStatus": "running"}`, 1), `Allocs[0].TaskGroup: job "web" has no task group "api"`},
		"both lost_after and stop_on_client_after": {strings.Replace(disconnectScenario("running", "x"), `"LostAfter": "5m"`,
			`"LostAfter": "5m", "StopOnClientAfter": "1m"`, 1), "Job.TaskGroups[0].Disconnect: LostAfter and StopOnClientAfter"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, dir, strings.ReplaceAll(name, " ", "-")+".json", tc.body)
			for _, args := range [][]string{{"--scenario", p, "--json"}, {"--scenario", p}} {
				code, out, errs := runArgs(args...)
				must.Eq(t, 2, code)
				must.Eq(t, "", out)
				must.StrContains(t, errs, tc.want)
				must.Eq(t, 1, strings.Count(errs, "\n"), must.Sprintf("want one line, got %q", errs))
			}
		})
	}
}

func TestReplay_UsageErrorsExit2(t *testing.T) {
	code, out, _ := runArgs()
	must.Eq(t, 2, code)
	must.Eq(t, "", out)
	code, out, _ = runArgs("--scenario", filepath.Join(t.TempDir(), "missing.json"))
	must.Eq(t, 2, code)
	must.Eq(t, "", out)
	code, _, _ = runArgs("--bogus")
	must.Eq(t, 2, code)
}

func TestReplay_CheckDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.json", disconnectScenario("running", "web.web[1]"))
	// Every accepted spelling of check mode passes on a good directory.
	for _, args := range [][]string{{"--check", dir}, {"--scenario", dir, "--check"}, {"--scenario", dir}, {dir, "--check"}} {
		code, out, errs := runArgs(args...)
		must.Eq(t, 0, code, must.Sprintf("args %v: %s %s", args, out, errs))
		must.StrContains(t, out, "1 scenarios: 1 passed, 0 failed")
	}

	writeFile(t, dir, "b.json", disconnectScenario("running", "web.web[7]"))
	code, out, _ := runArgs("--check", dir)
	must.Eq(t, 1, code)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	must.Len(t, 2, lines)
	must.StrHasPrefix(t, "FAIL "+filepath.Join(dir, "b.json")+": ", lines[0])
	must.StrContains(t, lines[0], "Place missing {Name:web.web[7]")
	must.StrContains(t, lines[0], "Place unexpected {Name:web.web[1]")

	writeFile(t, dir, "c.json", "{")
	code, _, errs := runArgs("--check", dir)
	must.Eq(t, 2, code)
	must.StrContains(t, errs, "c.json")
}

// TestReplay_CheckReferenceScenarios is the acceptance check: every scenario
// in reconcile/testdata passes through the command.
func TestReplay_CheckReferenceScenarios(t *testing.T) {
	code, out, errs := runArgs("--check", filepath.Join("..", "..", "reconcile", "testdata", "scenarios"))
	must.Eq(t, 0, code, must.Sprintf("%s%s", out, errs))
}
