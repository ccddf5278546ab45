package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rejoinhq/rejoin/testutil"
)

func init() {
	register(command{
		name:     "sim",
		synopsis: "run the deterministic cluster simulation and check every invariant (the main job)",
		run:      runSim,
	})
}

// Exit statuses of sim.
const (
	simExitOK        = 0
	simExitViolation = 1 // an invariant broke, or the server failed
	simExitUsage     = 2
)

// simFlags are the command line of `rejoin sim`.
type simFlags struct {
	cfg      testutil.SimConfig
	seeds    int
	asJSON   bool
	timeline string
	record   string
	shrink   int
}

func parseSimFlags(args []string, stderr io.Writer) (*simFlags, error) {
	def := testutil.ClusterSimConfig(1)
	f := &simFlags{}
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Uint64Var(&f.cfg.Seed, "seed", def.Seed, "`seed` that fixes every random choice (same seed, same run)")
	fs.IntVar(&f.cfg.Nodes, "nodes", def.Nodes, "number of simulated client nodes")
	fs.IntVar(&f.cfg.Jobs, "jobs", def.Jobs, "number of jobs (mixed disconnect policies)")
	fs.DurationVar(&f.cfg.Duration, "duration", def.Duration, "simulated fault window; then 20m to converge")
	fs.Float64Var(&f.cfg.PartitionFraction, "partition-fraction", def.PartitionFraction, "share of the nodes one partition cuts off")
	fs.IntVar(&f.seeds, "seeds", 1, "run `N` seeds (seed, seed+1, ...) and report the failing ones")
	fs.BoolVar(&f.asJSON, "json", false, "print the summary as JSON")
	fs.StringVar(&f.timeline, "timeline", "", "write a self-contained HTML timeline of node and alloc statuses to `FILE.html`")
	fs.StringVar(&f.record, "record", "", "write the store's command log and a summary to `DIR`")
	fs.IntVar(&f.shrink, "shrink", 40, "at most `N` replays to shorten the event trace of a violation (0: off)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rejoin sim [flags]")
		fmt.Fprintln(stderr, "\nRuns a simulated cluster (real store, heartbeats, RPC and reconciler; simulated")
		fmt.Fprintln(stderr, "clients, network and clock) under partitions, crashes and a leadership change,")
		fmt.Fprintln(stderr, "checks invariants I1-I8 after every step, and prints a summary. Exit status 1")
		fmt.Fprintln(stderr, "on any violation.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case f.cfg.Nodes < 1:
		return nil, errors.New("--nodes must be at least 1")
	case f.cfg.Jobs < 0:
		return nil, errors.New("--jobs must not be negative")
	case f.cfg.Duration <= 0:
		return nil, errors.New("--duration must be positive")
	case f.cfg.PartitionFraction < 0 || f.cfg.PartitionFraction > 1:
		return nil, errors.New("--partition-fraction must be in [0, 1]")
	case f.seeds < 1:
		return nil, errors.New("--seeds must be at least 1")
	case f.seeds > 1 && (f.timeline != "" || f.record != ""):
		return nil, errors.New("--timeline and --record need a single seed")
	}
	// Everything not on the command line scales with the cluster.
	c := &f.cfg
	c.BigPartition, c.Partitions, c.LeaderChanges = def.BigPartition, def.Partitions, def.LeaderChanges
	c.Crashes = max(1, c.Nodes/20)
	c.JobUpdates, c.JobStops = max(1, c.Jobs/5), max(1, c.Jobs/10)
	c.AllocFailRate, c.Net = def.AllocFailRate, def.Net
	c.Timeline = f.timeline != ""
	return f, nil
}

func runSim(args []string, stdout, stderr io.Writer) int {
	f, err := parseSimFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return simExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "rejoin sim: %v\n", err)
		return simExitUsage
	}
	if f.seeds > 1 {
		return runSimSeeds(f, stdout, stderr)
	}
	return runSimOne(f, stdout, stderr)
}

func runSimOne(f *simFlags, stdout, stderr io.Writer) int {
	cfg := f.cfg
	lastReport := time.Now()
	cfg.Progress = func(now, total time.Duration) {
		// Progress only for runs long enough to need it.
		if time.Since(lastReport) >= 2*time.Second {
			lastReport = time.Now()
			fmt.Fprintf(stderr, "rejoin sim: simulated %s of %s\n", now.Truncate(time.Second), total)
		}
	}
	var rec *commandRecorder
	if f.record != "" {
		var err error
		if rec, err = newCommandRecorder(f.record); err != nil {
			fmt.Fprintf(stderr, "rejoin sim: --record: %v\n", err)
			return simExitUsage
		}
		cfg.CommandSink = rec.write
	}
	s, err := testutil.NewSim(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin sim: %v\n", err)
		return simExitViolation
	}
	if rec != nil {
		rec.now = s.Clock().Now
	}
	res := s.Run()
	if res.Failed() && f.shrink > 0 {
		testutil.Shrink(res, f.shrink)
	}
	status := simExitOK
	if res.Failed() {
		status = simExitViolation
	}
	if rec != nil {
		if err := rec.close(res, s.Store(), s.Clock().Now()); err != nil {
			fmt.Fprintf(stderr, "rejoin sim: --record: %v\n", err)
			status = simExitViolation
		}
	}
	if f.timeline != "" {
		if err := writeTimeline(f.timeline, res); err != nil {
			fmt.Fprintf(stderr, "rejoin sim: --timeline: %v\n", err)
			status = simExitViolation
		}
	}
	if f.asJSON {
		if err := writeSimJSON(stdout, summaryOf(res)); err != nil {
			fmt.Fprintf(stderr, "rejoin sim: %v\n", err)
			return simExitViolation
		}
	} else {
		printSummary(stdout, res)
	}
	if res.Failed() {
		fmt.Fprint(stderr, testutil.FailureReport(res))
	}
	return status
}

func writeTimeline(path string, res *testutil.SimResult) error {
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := res.Timeline.WriteHTML(out, fmt.Sprintf("rejoin sim --seed %d: %d nodes, %d jobs",
		res.Config.Seed, res.Config.Nodes, res.Config.Jobs)); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
