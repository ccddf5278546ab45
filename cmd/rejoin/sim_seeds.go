package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/testutil"
)

// seedsSummary is the --json output of --seeds.
type seedsSummary struct {
	Result   string       `json:"result"`
	From     uint64       `json:"from_seed"`
	Seeds    int          `json:"seeds"`
	Failed   []seedResult `json:"failed"`
	Checks   int          `json:"invariant_checks_passed"`
	WallTime string       `json:"wall_time"`
}

type seedResult struct {
	Seed       uint64   `json:"seed"`
	Violations []string `json:"violations"`
	Error      string   `json:"error,omitempty"`
}

// runSimSeeds runs --seeds N seeds on every core and reports the failing
// ones (each with its shortest failing trace on stderr).
func runSimSeeds(f *simFlags, stdout, stderr io.Writer) int {
	start := time.Now()
	seeds := make(chan uint64)
	var mu sync.Mutex // protects failed, checks, done
	var failed []*testutil.SimResult
	checks, done := 0, 0
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				cfg := f.cfg
				cfg.Seed = seed
				cfg.Timeline = false
				var res *testutil.SimResult
				if s, err := testutil.NewSim(cfg); err != nil {
					res = &testutil.SimResult{Config: cfg, Err: err}
				} else {
					res = s.Run()
				}
				if res.Failed() && f.shrink > 0 {
					testutil.Shrink(res, f.shrink)
				}
				mu.Lock()
				done++
				checks += res.Checks
				if res.Failed() {
					failed = append(failed, res)
					fmt.Fprint(stderr, testutil.FailureReport(res))
				}
				mu.Unlock()
			}
		}()
	}
	lastReport := time.Now()
	for i := 0; i < f.seeds; i++ {
		seeds <- f.cfg.Seed + uint64(i)
		if time.Since(lastReport) >= 2*time.Second {
			lastReport = time.Now()
			mu.Lock()
			fmt.Fprintf(stderr, "rejoin sim: %d/%d seeds done, %d failed\n", done, f.seeds, len(failed))
			mu.Unlock()
		}
	}
	close(seeds)
	wg.Wait()
	sort.Slice(failed, func(i, j int) bool { return failed[i].Config.Seed < failed[j].Config.Seed })

	sum := seedsSummary{Result: "pass", From: f.cfg.Seed, Seeds: f.seeds, Failed: []seedResult{}, Checks: checks,
		WallTime: time.Since(start).Round(time.Millisecond).String()}
	for _, res := range failed {
		r := seedResult{Seed: res.Config.Seed, Violations: []string{}}
		for _, v := range res.Violations {
			r.Violations = append(r.Violations, v.String())
		}
		if res.Err != nil {
			r.Error = res.Err.Error()
		}
		sum.Failed = append(sum.Failed, r)
	}
	if len(failed) > 0 {
		sum.Result = "fail"
	}
	if f.asJSON {
		if err := writeSimJSON(stdout, sum); err != nil {
			fmt.Fprintf(stderr, "rejoin sim: %v\n", err)
			return simExitViolation
		}
	} else {
		fmt.Fprintf(stdout, "rejoin sim — seeds %d..%d: %d nodes, %d jobs, %s of faults each\n",
			f.cfg.Seed, f.cfg.Seed+uint64(f.seeds)-1, f.cfg.Nodes, f.cfg.Jobs, f.cfg.Duration)
		fmt.Fprintf(stdout, "%d seeds run, %d failed, %d invariant checks passed, %s wall\n",
			f.seeds, len(failed), checks, sum.WallTime)
		for _, r := range sum.Failed {
			fmt.Fprintf(stdout, "  seed %d: %d violations %s\n", r.Seed, len(r.Violations), r.Error)
		}
		if len(failed) == 0 {
			fmt.Fprintln(stdout, "RESULT: PASS")
		} else {
			fmt.Fprintln(stdout, "RESULT: FAIL")
		}
	}
	if len(failed) > 0 {
		return simExitViolation
	}
	return simExitOK
}
