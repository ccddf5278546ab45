package testutil

import "github.com/rejoinhq/rejoin/structs"

// SimStats counts what happened in a run, from the commands the store
// applied and from the harness.
type SimStats struct {
	// Node status changes written to the store.
	NodesDisconnected int // -> disconnected
	NodesDown         int // -> down
	NodesReconnected  int // disconnected or down -> ready
	// Alloc decisions applied.
	AllocsPlaced       int
	AllocsReplaced     int // placed with a PreviousAllocation
	AllocsDisconnected int
	AllocsReconnected  int
	AllocsLost         int // stopped as lost
	AllocsStopped      int
	AllocsUpdated      int
	// Decisions counts every applied decision by kind and rule
	// ("stop: alloc is lost since its node is down", "follow-up:
	// max-disconnect-timeout", ...).
	Decisions map[string]int

	Commands             int
	EvalsProcessed       int
	Heartbeats           int
	AllocUpdateCalls     int
	AllocUpdatesNotReady int // refused: node not ready (retried after a heartbeat)
	ClientCutoffStops    int // allocs a client stopped itself (stop_on_client_after)
	ClientCrashes        int
	ClientRestarts       int
	Partitions           int
	LeaderChanges        int
	BreakerOpened        int // the heartbeat breaker held expiries (a suspected server-side partition)
	Net                  NetStats

	nodeStatus map[string]string
}

func newSimStats() SimStats {
	return SimStats{Decisions: map[string]int{}, nodeStatus: map[string]string{}}
}

func (st *SimStats) observe(req any) {
	st.Commands++
	switch cmd := req.(type) {
	case *structs.NodeRegisterRequest:
		if cmd.Node != nil {
			if _, ok := st.nodeStatus[cmd.Node.ID]; !ok {
				st.nodeStatus[cmd.Node.ID] = structs.NodeStatusInit
			}
		}
	case *structs.NodeUpdateStatusRequest:
		from := st.nodeStatus[cmd.NodeID]
		st.nodeStatus[cmd.NodeID] = cmd.Status
		switch {
		case cmd.Status == from:
		case cmd.Status == structs.NodeStatusDisconnected:
			st.NodesDisconnected++
		case cmd.Status == structs.NodeStatusDown:
			st.NodesDown++
		case cmd.Status == structs.NodeStatusReady && structs.ShouldDrainNode(from):
			st.NodesReconnected++
		}
	case *structs.ApplyPlanResultsRequest:
		for _, a := range cmd.AllocsPlaced {
			st.AllocsPlaced++
			if a.PreviousAllocation != "" {
				st.AllocsReplaced++
				st.Decisions["place: replacement"]++
			} else {
				st.Decisions["place: new"]++
			}
		}
		for _, s := range cmd.AllocsStopped {
			st.AllocsStopped++
			if s.ClientStatus == structs.AllocClientStatusLost {
				st.AllocsLost++
			}
			st.Decisions["stop: "+s.Description]++
		}
		st.AllocsDisconnected += len(cmd.AllocsDisconnected)
		st.Decisions["disconnect"] += len(cmd.AllocsDisconnected)
		st.AllocsReconnected += len(cmd.AllocsReconnected)
		st.Decisions["reconnect"] += len(cmd.AllocsReconnected)
		st.AllocsUpdated += len(cmd.AllocsUpdated)
		st.Decisions["update in place"] += len(cmd.AllocsUpdated)
		for _, e := range cmd.Evals {
			if e.Status == structs.EvalStatusPending && !e.WaitUntil.IsZero() {
				st.Decisions["follow-up: "+e.TriggeredBy]++
			}
		}
		for k, v := range st.Decisions {
			if v == 0 {
				delete(st.Decisions, k)
			}
		}
	}
}

// DecisionKeys returns the decision kinds, sorted.
func (st *SimStats) DecisionKeys() []string { return sortedKeys(st.Decisions) }
