package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/cmdlog"
	"github.com/rejoinhq/rejoin/nomad"
	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// logStep is the live store's decisions after one logged command.
type logStep struct {
	index uint64
	at    time.Time
	want  string // --json output of a replay at this point
}

// recordLog snapshots the Nomad fixture's state at fixtureAt, then applies
// three logged commands a minute apart: a3 disconnected (plan; decisions:
// a reschedule follow-up), node n3 back to ready (a3 awaits client sync: no
// decisions), a3 reported running by its client (reconnect). It returns the
// snapshot path, the log dir and the decisions computed on the live store
// after each command.
func recordLog(t *testing.T) (string, string, []logStep) {
	t.Helper()
	im, err := nomad.ReadFile(nomadFixture(".snap"))
	must.NoError(t, err)
	st, err := im.Store(hclog.NewNullLogger())
	must.NoError(t, err)
	dir := t.TempDir()
	snap := filepath.Join(dir, "base.snap")
	t0, err := time.Parse(time.RFC3339Nano, fixtureAt)
	must.NoError(t, err)
	_, err = st.SaveSnapshotFile(snap, t0)
	must.NoError(t, err)

	logDir := filepath.Join(dir, "log")
	l, err := cmdlog.Open(logDir, cmdlog.Options{})
	must.NoError(t, err)
	clk := testutil.NewFakeClock(t0)
	st.SetCommandSink(cmdlog.Sink(l, clk, func(err error) { t.Errorf("log append: %v", err) }))

	const a3, n3 = "a0000000-0000-4000-8000-000000000003", "00000000-0000-4000-8000-000000000003"
	var steps []logStep
	step := func(typ structs.MessageType, req any) {
		t.Helper()
		clk.Advance(time.Minute)
		idx, _, err := st.ApplyCommand(typ, req)
		must.NoError(t, err)
		v, err := viewFromStore(st)
		must.NoError(t, err)
		b, err := encodeDecisions(v.compute(v.Jobs, clk.Now()))
		must.NoError(t, err)
		steps = append(steps, logStep{index: idx, at: clk.Now(), want: string(b)})
	}
	step(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Namespace: "default", JobID: "example", Now: t0.Add(time.Minute),
		// No follow-up recorded: the reconciler asks for one (row 4).
		AllocsDisconnected: []*structs.AllocFollowupUpdate{{AllocID: a3}},
	})
	step(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: n3, Status: structs.NodeStatusReady, UpdatedAt: t0.Add(2 * time.Minute).UnixNano(),
	})
	step(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
		NodeID: n3, UpdatedAt: t0.Add(3 * time.Minute).UnixNano(),
		Alloc: []*structs.Allocation{{ID: a3, ClientStatus: structs.AllocClientStatusRunning}},
	})
	must.NoError(t, l.Sync())
	must.NoError(t, l.Close())
	// The steps must differ, or the test could not tell bounds apart.
	must.NotEq(t, steps[0].want, steps[1].want)
	must.NotEq(t, steps[1].want, steps[2].want)
	return snap, logDir, steps
}

func TestReplayRejoinSnapshot_LogBounds(t *testing.T) {
	snap, logDir, steps := recordLog(t)
	for i, s := range steps {
		// --until INDEX: decisions at the record's own time by default.
		code, out, errs := runArgs("--snapshot", snap, "--log", logDir, "--until", strconv.FormatUint(s.index, 10), "--json")
		must.Eq(t, 0, code, must.Sprint(errs))
		must.Eq(t, s.want, out, must.Sprintf("--until step %d", i))
		// --at TIME: the log up to that time, decisions at that time.
		code, out, errs = runArgs("--snapshot", snap, "--log", logDir, "--at", s.at.Format(time.RFC3339Nano), "--json")
		must.Eq(t, 0, code, must.Sprint(errs))
		must.Eq(t, s.want, out, must.Sprintf("--at step %d", i))
	}
	// No bound: the whole log, at the last record's time.
	_, out, _ := runArgs("--snapshot", snap, "--log", logDir, "--json")
	must.Eq(t, steps[2].want, out)

	// Below the snapshot's index the state cannot be rebuilt.
	code, out, errs := runArgs("--snapshot", snap, "--log", logDir, "--until", "5")
	must.Eq(t, 2, code)
	must.Eq(t, "", out)
	must.StrContains(t, errs, "below the snapshot's index 1006")

	// A log damaged in its first record is an error naming it, not a
	// replay of what happens to decode.
	segs, err := filepath.Glob(filepath.Join(logDir, "*"))
	must.NoError(t, err)
	must.SliceNotEmpty(t, segs)
	b, err := os.ReadFile(segs[0])
	must.NoError(t, err)
	b[20] ^= 0xff
	must.NoError(t, os.WriteFile(segs[0], b, 0o600))
	code, out, errs = runArgs("--snapshot", snap, "--log", logDir, "--json")
	must.Eq(t, 2, code)
	must.Eq(t, "", out)
	must.StrContains(t, errs, "log")
	must.Eq(t, 1, strings.Count(errs, "\n"))
}

// TestReplayRejoinSnapshot_LogDeterministic: snapshot + log replayed twice
// gives byte-identical decision JSON.
func TestReplayRejoinSnapshot_LogDeterministic(t *testing.T) {
	snap, logDir, _ := recordLog(t)
	for _, extra := range [][]string{nil, {"--until", "1008"}} {
		args := append([]string{"--snapshot", snap, "--log", logDir, "--json"}, extra...)
		_, first, _ := runArgs(args...)
		_, second, _ := runArgs(args...)
		must.NotEq(t, "", first)
		must.Eq(t, first, second)
	}
}
