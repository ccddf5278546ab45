package testutil

import (
	"fmt"
	"strings"
)

// FailureReport describes a failed run: the seed, each violation with its
// step, and the event trace up to the first violation.
func FailureReport(res *SimResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d failed", res.Config.Seed)
	if res.Err != nil {
		fmt.Fprintf(&b, ": %v", res.Err)
	}
	b.WriteString("\n")
	for _, v := range res.Violations {
		fmt.Fprintf(&b, "  %s\n", v)
	}
	last := res.Steps
	if len(res.Violations) > 0 {
		last = res.Violations[0].Step
	}
	trace := res.Trace
	if res.Shortest != nil {
		trace = res.Shortest
		b.WriteString("  shortest event trace that still fails:\n")
	} else {
		b.WriteString("  event trace up to the violation:\n")
	}
	var shown []TraceEntry
	for _, e := range trace {
		if e.Step > last {
			break
		}
		shown = append(shown, e)
	}
	const head, tail = 20, 20
	for i, e := range shown {
		if len(shown) > head+tail && i == head {
			fmt.Fprintf(&b, "    ... %d more events ...\n", len(shown)-head-tail)
		}
		if len(shown) > head+tail && i >= head && i < len(shown)-tail {
			continue
		}
		fmt.Fprintf(&b, "    %s\n", e)
	}
	fmt.Fprintf(&b, "  replay: the same SimConfig with Seed %d replays this run exactly\n", res.Config.Seed)
	return b.String()
}
