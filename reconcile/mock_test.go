package reconcile

import (
	"fmt"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// t0 is the scenarios' epoch; tests express times as offsets from it.
var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// mockJob is a service job "web" with one group "web" of count allocs that
// supports disconnects for 5 minutes.
func mockJob(count int) *structs.Job {
	return &structs.Job{
		ID: "web", Namespace: "default", Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{
			Name: "web", Count: count,
			Disconnect: &structs.DisconnectStrategy{LostAfter: 5 * time.Minute},
		}},
	}
}

func mockNode(id, status string) *structs.Node {
	return &structs.Node{ID: id, Status: status, SchedulingEligibility: structs.NodeSchedulingEligible}
}

// mockAlloc is a running alloc web.web[idx] on node.
func mockAlloc(id string, idx int, node string) *structs.Allocation {
	return &structs.Allocation{
		ID: id, Name: fmt.Sprintf("web.web[%d]", idx), NodeID: node, JobID: "web", TaskGroup: "web",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		Metrics: &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: node, NormScore: 0.5}}},
	}
}

// withStates appends ClientStatus AllocStates given as value, time pairs.
func withStates(a *structs.Allocation, pairs ...any) *structs.Allocation {
	for i := 0; i < len(pairs); i += 2 {
		a.AllocStates = append(a.AllocStates, &structs.AllocState{
			Field: structs.AllocStateFieldClientStatus, Value: pairs[i].(string), Time: pairs[i+1].(time.Time),
		})
	}
	return a
}

func nodes(ns ...*structs.Node) map[string]*structs.Node {
	m := make(map[string]*structs.Node, len(ns))
	for _, n := range ns {
		m[n.ID] = n
	}
	return m
}

func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = id(x)
	}
	return out
}

func stopIDs(r *Results) []string { return ids(r.Stop, func(s Stop) string { return s.AllocID }) }
func decisionIDs(ds []AllocDecision) []string {
	return ids(ds, func(d AllocDecision) string { return d.AllocID })
}
