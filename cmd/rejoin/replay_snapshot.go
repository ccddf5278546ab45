package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/rejoinhq/rejoin/reconcile"
)

// snapshotReplayOpts are replay's flags for recorded state.
type snapshotReplayOpts struct {
	nomadPath string
	path      string
	logDir    string
	until     uint64
	at        string
	job       string
	json      bool
}

func (o *snapshotReplayOpts) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.nomadPath, "nomad-snapshot", "", "Nomad snapshot `FILE` (a 'nomad operator snapshot save' archive or a bare state.bin)")
	fs.StringVar(&o.path, "snapshot", "", "rejoin snapshot `FILE`")
	fs.StringVar(&o.logDir, "log", "", "command log `DIR` to replay on top of --snapshot")
	fs.Uint64Var(&o.until, "until", 0, "replay the log up to this raft `INDEX` (0 = all)")
	fs.StringVar(&o.at, "at", "", "reconcile at this RFC 3339 `TIME` (and replay the log up to it); default: the last replayed log record's time, else the rejoin snapshot's creation time, else the latest time recorded in the Nomad snapshot's objects")
	fs.StringVar(&o.job, "job", "", "only this job `ID` (or namespace/ID)")
}

func (o *snapshotReplayOpts) active() bool { return o.nomadPath != "" || o.path != "" }

func (o *snapshotReplayOpts) boundsGiven() bool {
	return o.logDir != "" || o.until != 0 || o.at != "" || o.job != ""
}

// check rejects flag combinations that mean nothing.
func (o *snapshotReplayOpts) check() error {
	switch {
	case o.nomadPath != "" && o.path != "":
		return badInput("give --snapshot or --nomad-snapshot, not both")
	case o.nomadPath != "" && (o.logDir != "" || o.until != 0):
		return badInput("--log and --until apply to --snapshot only")
	case o.until != 0 && o.at != "":
		return badInput("give --until or --at, not both")
	case o.until != 0 && o.logDir == "":
		return badInput("--until bounds the command log: give --log DIR")
	}
	return nil
}

// load reads the recorded state the options name, with the log replayed.
func (o *snapshotReplayOpts) load(at time.Time, stderr io.Writer) (*stateView, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.nomadPath != "" {
		return loadNomadView(o.nomadPath, stderr)
	}
	return loadRejoinWithLog(o.path, o.logDir, o.until, at, stderr)
}

// replaySnapshot runs the reconciler for every job (or --job) of a recorded
// state at --at, or by default at the state's own latest time (see
// stateView.defaultNow).
func replaySnapshot(o snapshotReplayOpts, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "rejoin replay: %v\n", oneLine(err))
		return exitBadInput
	}
	at, err := parseAt(o.at)
	if err != nil {
		return fail(err)
	}
	v, err := o.load(at, stderr)
	if err != nil {
		return fail(err)
	}
	jobs, err := v.selectJobs(o.job)
	if err != nil {
		return fail(err)
	}
	now := at
	if now.IsZero() {
		if now, err = v.defaultNow(); err != nil {
			return fail(err)
		}
	}
	for _, n := range v.Notes {
		fmt.Fprintf(stderr, "rejoin replay: note: %s\n", n)
	}
	results := v.compute(jobs, now)
	if o.json {
		b, err := encodeDecisions(results)
		if err != nil {
			return fail(err)
		}
		_, _ = stdout.Write(b)
		return exitOK
	}
	keys := make([]string, 0, len(results))
	for k := range results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(stdout, "%s snapshot at index %d, reconciled at %s\n", v.Source, v.Index, now.Format(time.RFC3339Nano))
	for _, k := range keys {
		fmt.Fprintf(stdout, "\njob %s\n", k)
		fmt.Fprint(stdout, reconcile.FormatTable(results[k]))
	}
	if len(keys) == 0 {
		fmt.Fprintln(stdout, "(no jobs)")
	}
	return exitOK
}

// encodeDecisions is the --json output: one object, job key → results.
// encoding/json sorts map keys, so equal decisions give equal bytes.
func encodeDecisions(results map[string]*reconcile.Results) ([]byte, error) {
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// oneLine keeps an error message to one line of stderr.
func oneLine(err error) string {
	s := err.Error()
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' || s[i] == '\r' {
			return s[:i] + " ..."
		}
	}
	return s
}
