package state

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// Equal stores must hash equal even when their objects hold maps with many
// keys: Go randomises map iteration, so the hash must encode maps sorted.
func TestStateHash_IndependentOfMapOrder(t *testing.T) {
	build := func() *Store {
		a := &structs.Allocation{ID: "a1", Namespace: "default", JobID: "web", TaskGroup: "web", NodeID: "n1",
			DesiredStatus: "run", ClientStatus: "running", TaskStates: map[string]*structs.TaskState{},
			Metrics: &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: "n1",
				Scores: map[string]float64{"binpack": 0.1, "spread": 0.2, "affinity": 0.3, "anti": 0.4}}}}}
		for _, task := range []string{"web", "sidecar", "logs", "proxy", "init", "metrics"} {
			a.TaskStates[task] = &structs.TaskState{State: "running"}
		}
		st, err := LoadStore(Objects{
			Nodes:  []*structs.Node{{ID: "n1", Status: structs.NodeStatusReady}},
			Allocs: []*structs.Allocation{a},
		}, 7, nil)
		must.NoError(t, err)
		return st
	}
	want, err := build().StateHash()
	must.NoError(t, err)
	for i := 0; i < 30; i++ {
		got, err := build().StateHash()
		must.NoError(t, err)
		must.Eq(t, want, got)
	}
}
