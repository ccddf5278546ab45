package rejoin

import "github.com/rejoinhq/rejoin/structs"

// gaugeTick samples the gauges and schedules the next sample.
func (s *Server) gaugeTick() {
	s.mu.Lock()
	if s.phase != phaseStarted {
		s.mu.Unlock()
		return
	}
	s.gaugeTimer = s.clock.AfterFunc(s.opts.gaugeInterval, s.gaugeTick)
	s.mu.Unlock()
	s.sampleGauges()
}

// sampleGauges sets nodes by status and the eval queue depth. It scans
// the nodes once: O(nodes) per interval.
func (s *Server) sampleGauges() {
	if s.rec == nil {
		return
	}
	nodes, err := s.store.Nodes(nil)
	if err != nil {
		s.logger.Warn("gauges: read nodes", "error", err)
		return
	}
	counts := map[string]int{}
	for _, n := range nodes {
		counts[n.Status]++
	}
	s.rec.NodesByStatus(counts, structs.NodeStatusInit, structs.NodeStatusReady,
		structs.NodeStatusDisconnected, structs.NodeStatusDown)
	if s.worker != nil {
		s.rec.EvalQueue(s.worker.Pending())
	}
}
