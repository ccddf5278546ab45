package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/rejoinhq/rejoin/testutil"
)

// simSummary is the --json output of one run.
type simSummary struct {
	Result     string            `json:"result"` // "pass" or "fail"
	Seed       uint64            `json:"seed"`
	Nodes      int               `json:"nodes"`
	Jobs       int               `json:"jobs"`
	Duration   string            `json:"duration"`
	SimTime    string            `json:"sim_time"`
	WallTime   string            `json:"wall_time"`
	Steps      int               `json:"steps"`
	Checks     int               `json:"invariant_checks_passed"`
	Violations []string          `json:"violations"`
	Error      string            `json:"error,omitempty"`
	Trace      []string          `json:"trace"`
	TraceHash  string            `json:"trace_hash"`
	Stats      testutil.SimStats `json:"stats"`
	Shortest   []string          `json:"shortest_failing_trace,omitempty"`
	Faults     map[string]int    `json:"faults"`
}

func summaryOf(res *testutil.SimResult) simSummary {
	s := simSummary{
		Result: "pass", Seed: res.Config.Seed, Nodes: res.Config.Nodes, Jobs: res.Config.Jobs,
		Duration: res.Config.Duration.String(), SimTime: res.SimTime.String(),
		WallTime: res.WallTime.Round(time.Millisecond).String(), Steps: res.Steps, Checks: res.Checks,
		Violations: []string{}, Trace: []string{}, TraceHash: res.TraceHash, Stats: res.Stats,
		Faults: map[string]int{
			"partitions": res.Stats.Partitions, "client_crashes": res.Stats.ClientCrashes,
			"client_restarts": res.Stats.ClientRestarts, "leadership_changes": res.Stats.LeaderChanges,
		},
	}
	if res.Failed() {
		s.Result = "fail"
	}
	if res.Err != nil {
		s.Error = res.Err.Error()
	}
	for _, v := range res.Violations {
		s.Violations = append(s.Violations, v.String())
	}
	for _, e := range res.Trace {
		s.Trace = append(s.Trace, e.String())
	}
	for _, e := range res.Shortest {
		s.Shortest = append(s.Shortest, e.String())
	}
	return s
}

func writeSimJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printSummary writes the human summary of one run.
func printSummary(w io.Writer, res *testutil.SimResult) {
	st := res.Stats
	c := res.Config
	fmt.Fprintf(w, "rejoin sim — seed %d: %d nodes, %d jobs, %s of faults then %s to converge\n\n",
		c.Seed, c.Nodes, c.Jobs, c.Duration, c.Quiesce)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	section := func(title string) { fmt.Fprintf(tw, "%s\t\t\n", title) }
	row := func(name string, v any, note string) { fmt.Fprintf(tw, "  %s\t%v\t%s\n", name, v, note) }

	section("Faults injected")
	row("partitions", st.Partitions, fmt.Sprintf("(%.0f%% of the nodes at a time)", c.PartitionFraction*100))
	row("client crashes", st.ClientCrashes, fmt.Sprintf("(%d restarts, with or without local state)", st.ClientRestarts))
	row("leadership changes", st.LeaderChanges, "(heartbeats cleared, then failover TTL)")
	row("breaker holds", st.BreakerOpened, "(mass-disconnect breaker held node expiries)")
	row("network", fmt.Sprintf("%d sent", st.Net.Sent), fmt.Sprintf("(%d delivered, %d dropped, %d cut by partitions)", st.Net.Delivered, st.Net.Dropped, st.Net.Cut))
	section("Nodes")
	row("disconnected", st.NodesDisconnected, "(missed heartbeats; their allocs wait, marked unknown)")
	row("down", st.NodesDown, "(missed heartbeats with nothing to wait for, or waited too long)")
	row("reconnected", st.NodesReconnected, "(disconnected or down -> ready)")
	section("Allocations")
	row("placed", st.AllocsPlaced, "")
	row("disconnected", st.AllocsDisconnected, "(marked unknown while their node was cut off)")
	row("reconnected", st.AllocsReconnected, "(came back and kept their slot)")
	row("replaced", st.AllocsReplaced, "(placed in place of a lost, failed, outdated or unknown alloc)")
	row("lost", st.AllocsLost, "(stopped: node down, or unknown past lost_after)")
	row("stopped", st.AllocsStopped, "(all stops, lost included)")
	row("updated in place", st.AllocsUpdated, "")
	section("Decisions by rule")
	for _, k := range st.DecisionKeys() {
		row(k, st.Decisions[k], "")
	}
	section("Client traffic")
	row("heartbeats", st.Heartbeats, "")
	row("alloc updates", st.AllocUpdateCalls, fmt.Sprintf("(%d refused: node not ready, retried after the next heartbeat)", st.AllocUpdatesNotReady))
	row("self-stopped allocs", st.ClientCutoffStops, "(stop_on_client_after)")
	row("evaluations processed", st.EvalsProcessed, "")
	section("Invariants (I1-I8)")
	row("checks passed", res.Checks, fmt.Sprintf("(over %d steps and at quiescence)", res.Steps))
	row("violations", len(res.Violations), "")
	tw.Flush()
	speed := ""
	if res.WallTime > 0 {
		speed = fmt.Sprintf(", %.0fx real time", float64(res.SimTime)/float64(res.WallTime))
	}
	fmt.Fprintf(w, "\nTime: %s simulated in %s wall%s\n", res.SimTime, res.WallTime.Round(time.Millisecond), speed)
	fmt.Fprintf(w, "Trace hash: %s\n", res.TraceHash)
	switch {
	case res.Err != nil:
		fmt.Fprintf(w, "RESULT: FAIL (server error: %v)\n", res.Err)
	case len(res.Violations) > 0:
		fmt.Fprintf(w, "RESULT: FAIL (%d invariant violations; details on stderr)\n", len(res.Violations))
	default:
		fmt.Fprintln(w, "RESULT: PASS (every invariant held)")
	}
}
