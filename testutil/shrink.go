package testutil

// Shrink looks for the shortest event trace that still breaks the first
// invariant res broke: it replays, with the same seed, the events executed
// up to the violation, then drops events one at a time (last first) while
// the run keeps failing the same way. It runs at most budget simulations and
// stores the result in res.Shortest (the trace of the shortest failing
// replay). A failure that does not reproduce from its prefix leaves
// res.Shortest nil.
func Shrink(res *SimResult, budget int) {
	if len(res.Violations) == 0 || budget <= 0 {
		return
	}
	want := res.Violations[0]
	var prefix []Event
	for _, e := range res.Trace {
		if e.Step > want.Step {
			break
		}
		prefix = append(prefix, e.Event)
	}
	runs := 0
	try := func(events []Event) *SimResult {
		runs++
		cfg := res.Config
		cfg.Events = append([]Event{}, events...)
		cfg.StopOnViolation = true
		cfg.Progress, cfg.CommandSink, cfg.Timeline = nil, nil, false
		s, err := NewSim(cfg)
		if err != nil {
			return nil
		}
		r := s.Run()
		for _, v := range r.Violations {
			if v.Invariant == want.Invariant {
				return r
			}
		}
		return nil
	}
	best := try(prefix)
	if best == nil {
		return
	}
	// Passes until one removes nothing: dropping an event can make an
	// earlier one unnecessary (a leader gain once its loss is gone).
	for changed := true; changed && runs < budget; {
		changed = false
		for i := len(prefix) - 1; i >= 0 && runs < budget; i-- {
			cand := append(append([]Event{}, prefix[:i]...), prefix[i+1:]...)
			if r := try(cand); r != nil {
				prefix, best, changed = cand, r, true
			}
		}
	}
	res.Shortest = best.Trace
}
