package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/rejoinhq/rejoin/reconcile"
)

func init() {
	register(command{
		name:     "replay",
		synopsis: "run the reconciler on a scenario (--scenario FILE), a snapshot (--snapshot FILE, --nomad-snapshot FILE) or check scenarios (--check DIR)",
		run:      runReplay,
	})
}

// Exit statuses of replay.
const (
	exitOK       = 0
	exitMismatch = 1 // --check: some scenario's decisions differ from Expect
	exitBadInput = 2 // usage errors and scenarios that cannot be understood
)

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "", "scenario `FILE` (or a directory of *.json, which implies --check)")
	asJSON := fs.Bool("json", false, "print the decisions as one JSON object")
	check := fs.Bool("check", false, "compare every scenario in the directory with its Expect")
	var so snapshotReplayOpts
	so.flags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rejoin replay --scenario FILE [--json]")
		fmt.Fprintln(stderr, "       rejoin replay --check DIR   (or --scenario DIR --check)")
		fmt.Fprintln(stderr, "       rejoin replay --nomad-snapshot FILE [--at TIME] [--job ID] [--json]")
		fmt.Fprintln(stderr, "       rejoin replay --snapshot FILE [--log DIR] [--until INDEX | --at TIME] [--job ID] [--json]")
		fs.PrintDefaults()
	}
	// The flag package stops at the first positional argument; parse
	// again after each one so "replay DIR --check" works too.
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitBadInput
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if so.active() {
		if *scenario != "" || *check || len(positional) > 0 {
			fmt.Fprintln(stderr, "rejoin replay: --snapshot/--nomad-snapshot cannot be combined with --scenario, --check or a positional argument")
			return exitBadInput
		}
		so.json = *asJSON
		return replaySnapshot(so, stdout, stderr)
	}
	if so.boundsGiven() {
		fmt.Fprintln(stderr, "rejoin replay: --log, --until, --at and --job need --snapshot or --nomad-snapshot")
		return exitBadInput
	}
	path := *scenario
	switch {
	case len(positional) > 1 || (len(positional) == 1 && path != ""):
		fmt.Fprintf(stderr, "rejoin replay: unexpected arguments %q\n", positional)
		return exitBadInput
	case len(positional) == 1:
		path = positional[0]
	}
	if path == "" {
		fmt.Fprintln(stderr, "rejoin replay: --scenario FILE or --check DIR is required")
		return exitBadInput
	}
	info, err := os.Stat(path)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin replay: %v\n", err)
		return exitBadInput
	}
	if info.IsDir() || *check {
		return checkScenarios(path, info.IsDir(), stdout, stderr)
	}
	return replayOne(path, *asJSON, stdout, stderr)
}

// replayOne prints one scenario's decisions. On bad input it prints one
// line on stderr and nothing on stdout.
func replayOne(path string, asJSON bool, stdout, stderr io.Writer) int {
	s, err := reconcile.LoadScenario(path)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin replay: %s: %v\n", path, err)
		return exitBadInput
	}
	res := reconcile.Compute(s.Input)
	if asJSON {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			fmt.Fprintf(stderr, "rejoin replay: encode: %v\n", err)
			return exitBadInput
		}
		b = append(b, '\n')
		_, _ = stdout.Write(b)
		return exitOK
	}
	name := s.Name
	if name == "" {
		name = filepath.Base(path)
	}
	fmt.Fprintf(stdout, "scenario %s at %s\n", name, s.Input.Now.Format("2006-01-02T15:04:05Z07:00"))
	fmt.Fprint(stdout, reconcile.FormatTable(res))
	return exitOK
}

// checkScenarios runs every *.json in dir (or the one file) and compares
// the decisions with each file's Expect: one line per mismatch, exit 1 on
// any mismatch, 2 when a file cannot be understood.
func checkScenarios(path string, isDir bool, stdout, stderr io.Writer) int {
	files := []string{path}
	if isDir {
		var err error
		files, err = filepath.Glob(filepath.Join(path, "*.json"))
		if err != nil {
			fmt.Fprintf(stderr, "rejoin replay: %v\n", err)
			return exitBadInput
		}
		if len(files) == 0 {
			fmt.Fprintf(stderr, "rejoin replay: no *.json scenarios in %s\n", path)
			return exitBadInput
		}
		sort.Strings(files)
	}
	var passed, failed, broken, noExpect int
	for _, f := range files {
		s, err := reconcile.LoadScenario(f)
		if err != nil {
			fmt.Fprintf(stderr, "ERROR %s: %v\n", f, err)
			broken++
			continue
		}
		if s.Expect == nil {
			noExpect++
			continue
		}
		if d := reconcile.Diff(s.Expect, reconcile.Compute(s.Input)); d != "" {
			fmt.Fprintf(stdout, "FAIL %s: %s\n", f, d)
			failed++
			continue
		}
		passed++
	}
	fmt.Fprintf(stdout, "%d scenarios: %d passed, %d failed, %d invalid, %d without Expect\n",
		len(files), passed, failed, broken, noExpect)
	switch {
	case broken > 0:
		return exitBadInput
	case failed > 0:
		return exitMismatch
	}
	return exitOK
}
