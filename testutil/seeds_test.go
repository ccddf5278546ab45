package testutil

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// runSeeds runs the default simulation for seeds [from, from+n) on every
// core and reports each failing seed with its shortened trace.
func runSeeds(t *testing.T, from, n uint64) {
	t.Helper()
	var next atomic.Uint64
	next.Store(from)
	var mu sync.Mutex // protects failed
	var failed []*SimResult
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				seed := next.Add(1) - 1
				if seed >= from+n {
					return
				}
				s, err := NewSim(DefaultSimConfig(seed))
				if err != nil {
					t.Error(err)
					return
				}
				if res := s.Run(); res.Failed() {
					mu.Lock()
					failed = append(failed, res)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for i, res := range failed {
		if i == 5 {
			t.Errorf("... and %d more failing seeds", len(failed)-5)
			break
		}
		Shrink(res, 40)
		t.Error(FailureReport(res))
	}
}

// TestSeeds is the acceptance run: thousands of seeds, zero violations.
func TestSeeds(t *testing.T) {
	n := uint64(2000)
	if raceEnabled {
		n = 50
	}
	if testing.Short() {
		n = 100
	}
	runSeeds(t, 1, n)
}

// TestSoak runs 100,000 seeds when REJOIN_SOAK=1 (make soak).
func TestSoak(t *testing.T) {
	if os.Getenv("REJOIN_SOAK") != "1" {
		t.Skip("set REJOIN_SOAK=1 to run 100,000 seeds")
	}
	runSeeds(t, 1_000_000, 100_000)
}
