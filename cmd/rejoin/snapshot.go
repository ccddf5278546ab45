package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

func init() {
	register(command{
		name:     "snapshot",
		synopsis: "look into a rejoin or Nomad snapshot (inspect FILE, export-scenario FILE --job ID)",
		run:      runSnapshot,
	})
}

func snapshotUsage(w io.Writer) {
	fmt.Fprintln(w, "Usage: rejoin snapshot inspect [--nomad] FILE [--at TIME] [--json]")
	fmt.Fprintln(w, "       rejoin snapshot export-scenario [--nomad] FILE --job ID [--at TIME] > scenario.json")
}

func runSnapshot(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		snapshotUsage(stderr)
		return exitBadInput
	}
	switch args[0] {
	case "inspect":
		return runSnapshotInspect(args[1:], stdout, stderr)
	case "export-scenario":
		return runSnapshotExport(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		snapshotUsage(stderr)
		return exitOK
	}
	fmt.Fprintf(stderr, "rejoin snapshot: unknown subcommand %q (inspect or export-scenario)\n", args[0])
	return exitBadInput
}

// snapshotArgs are the flags the snapshot subcommands share.
type snapshotArgs struct {
	nomad bool
	file  string
	at    time.Time
	job   string
	json  bool
}

// parseSnapshotArgs parses flags before and after the one FILE argument.
func parseSnapshotArgs(name string, args []string, withJob bool, stderr io.Writer) (*snapshotArgs, int, bool) {
	fs := flag.NewFlagSet("snapshot "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &snapshotArgs{}
	fs.BoolVar(&a.nomad, "nomad", false, "FILE is a Nomad snapshot (archive or bare state.bin)")
	at := fs.String("at", "", "evaluate at this RFC 3339 `TIME` (default: the snapshot's latest time)")
	if withJob {
		fs.StringVar(&a.job, "job", "", "the job `ID` (or namespace/ID) to export")
	} else {
		fs.BoolVar(&a.json, "json", false, "print the report as JSON")
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitBadInput, false
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) != 1 {
		fmt.Fprintf(stderr, "rejoin snapshot %s: want exactly one FILE, got %d\n", name, len(positional))
		return nil, exitBadInput, false
	}
	a.file = positional[0]
	t, err := parseAt(*at)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin snapshot %s: %v\n", name, err)
		return nil, exitBadInput, false
	}
	a.at = t
	if withJob && a.job == "" {
		fmt.Fprintf(stderr, "rejoin snapshot %s: --job ID is required\n", name)
		return nil, exitBadInput, false
	}
	return a, 0, true
}

// load reads the snapshot and settles the evaluation time.
func (a *snapshotArgs) load(stderr io.Writer) (*stateView, time.Time, error) {
	var v *stateView
	var err error
	if a.nomad {
		v, err = loadNomadView(a.file, stderr)
	} else {
		v, _, err = loadRejoinView(a.file, stderr)
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	now := a.at
	if now.IsZero() {
		if now, err = v.defaultNow(); err != nil {
			return nil, time.Time{}, err
		}
	}
	return v, now, nil
}
