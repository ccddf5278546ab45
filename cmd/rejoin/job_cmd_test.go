package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin"
)

// inprocServer serves a fresh rejoin server on loopback for the operator
// commands (run in process through run()).
func inprocServer(t *testing.T) string {
	t.Helper()
	srv, err := rejoin.New()
	must.NoError(t, err)
	must.NoError(t, srv.Start())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Stop() })
	return ln.Addr().String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func runOp(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// oneErrorLine checks a failure: the exit code, nothing on stdout, exactly
// one line on stderr containing want.
func oneErrorLine(t *testing.T, wantCode int, want string, args ...string) {
	t.Helper()
	out, errs, code := runOp(args...)
	must.Eq(t, wantCode, code, must.Sprintf("%v: stderr %q", args, errs))
	must.Eq(t, "", out)
	must.Eq(t, 1, strings.Count(errs, "\n"), must.Sprintf("%q", errs))
	must.StrContains(t, errs, want)
}

func writeJobFile(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "job.json")
	must.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestJobRun_MalformedFilesNameTheField(t *testing.T) {
	addr := inprocServer(t)
	cases := []struct{ name, body, want string }{
		{"bad json", "{\"ID\": \"x\",\n  \"TaskGroups\": [,]}", "bad JSON at line 2 column"},
		{"not an object", `[1, 2]`, "one JSON object"},
		{"bad duration", `{"ID":"x","TaskGroups":[{"Name":"g","Count":1,"Disconnect":{"LostAfter":"5 minutes"}}]}`, "Job.TaskGroups[0].Disconnect.LostAfter"},
		{"unknown reconcile", `{"ID":"x","TaskGroups":[{"Name":"g","Count":1,"Disconnect":{"LostAfter":"5m","Reconcile":"newest"}}]}`, "Job.TaskGroups[0].Disconnect.Reconcile"},
		{"both windows", `{"ID":"x","TaskGroups":[{"Name":"g","Count":1,"Disconnect":{"LostAfter":"5m","StopOnClientAfter":"1m"}}]}`, "Job.TaskGroups[0].Disconnect"},
		{"negative count", `{"ID":"x","TaskGroups":[{"Name":"g","Count":-1}]}`, "Job.TaskGroups[0].Count"},
		{"missing ID", `{"TaskGroups":[{"Name":"g","Count":1}]}`, "Job.ID: missing"},
		{"wrong type", `{"ID":"x","TaskGroups":[{"Name":"g","Count":"three"}]}`, "Count"},
		{"unknown job type", `{"ID":"x","Type":"daemon"}`, "Job.Type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			oneErrorLine(t, exitFailed, tc.want, "job", "run", writeJobFile(t, tc.body), "--address", addr)
		})
	}
	oneErrorLine(t, exitFailed, "no such file", "job", "run", filepath.Join(t.TempDir(), "missing.json"), "--address", addr)
	// Nothing was registered by any of them.
	oneErrorLine(t, exitFailed, `unknown job "x"`, "job", "status", "x", "--address", addr)
}

func TestOperatorCommands_UnknownIDs(t *testing.T) {
	addr := inprocServer(t)
	oneErrorLine(t, exitFailed, `unknown job "nope"`, "job", "status", "nope", "--address", addr)
	oneErrorLine(t, exitFailed, `unknown job "nope"`, "job", "stop", "nope", "--address", addr)
	oneErrorLine(t, exitFailed, `unknown allocation "nope"`, "alloc", "status", "nope", "--address", addr)
	oneErrorLine(t, exitFailed, `unknown node "nope"`, "node", "status", "nope", "--address", addr)
}

func TestOperatorCommands_UnreachableServer(t *testing.T) {
	addr := closedAddr(t)
	for _, args := range [][]string{
		{"node", "status"}, {"node", "status", "n1"}, {"alloc", "status", "a1"},
		{"job", "status", "web"}, {"job", "stop", "web"}, {"server", "status"},
	} {
		oneErrorLine(t, exitFailed, "cannot reach the server at "+addr, append(args, "--address", addr)...)
	}
	job := writeJobFile(t, `{"ID":"web","TaskGroups":[{"Name":"g","Count":1}]}`)
	oneErrorLine(t, exitFailed, "cannot reach the server", "job", "run", job, "--address", addr)
	t.Setenv("REJOIN_ADDR", addr)
	oneErrorLine(t, exitFailed, "cannot reach the server at "+addr, "node", "status")
}

func TestOperatorCommands_UsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"job"}, {"job", "launch"}, {"job", "run"}, {"job", "status", "a", "b"},
		{"alloc", "status"}, {"node", "status", "a", "b"}, {"node", "status", "--bogus"},
		{"server"}, {"server", "--pprof", "--dev"}, {"server", "--dev", "--log-level", "loud"}, {"server", "--dev", "extra"},
		{"server", "--dev", "--snapshot-interval", "-1s"},
		{"server", "--dev", "--eval-parallelism", "-1"},
	} {
		_, errs, code := runOp(args...)
		must.Eq(t, exitBadInput, code, must.Sprintf("%v: %s", args, errs))
		must.NotEq(t, "", errs)
	}
}

func TestOperatorCommands_RunStatusStop(t *testing.T) {
	addr := inprocServer(t)
	job := writeJobFile(t, `{"Job": {"ID":"web","TaskGroups":[{"Name":"web","Count":2,"Disconnect":{"LostAfter":"30s"}}]}}`)
	out, errs, code := runOp("job", "run", job, "--address", addr)
	must.Eq(t, 0, code, must.Sprint(errs))
	must.StrContains(t, out, `Job "web" registered: version 0`)

	out, _, code = runOp("job", "status", "web", "--address", addr)
	must.Eq(t, 0, code)
	must.StrContains(t, out, "30s")
	must.StrContains(t, out, "job-register")

	out, _, code = runOp("node", "status", "--address", addr)
	must.Eq(t, 0, code)
	must.StrContains(t, out, "LAST HEARTBEAT")

	out, _, code = runOp("job", "stop", "web", "--address", addr, "--json")
	must.Eq(t, 0, code)
	must.StrContains(t, out, `"EvalID"`)
	out, _, code = runOp("job", "status", "--address", addr, "web")
	must.Eq(t, 0, code)
	must.StrContains(t, out, "stopped")
}
