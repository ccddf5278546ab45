package reconcile

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func plNode(id, status string) *structs.Node {
	return &structs.Node{ID: id, Status: status, SchedulingEligibility: structs.NodeSchedulingEligible}
}

func TestDefaultPlacer(t *testing.T) {
	ready := func(id string) *structs.Node { return plNode(id, structs.NodeStatusReady) }
	draining := ready("drain")
	draining.Drain = true
	inelig := ready("inelig")
	inelig.SchedulingEligibility = structs.NodeSchedulingIneligible

	cases := []struct {
		name      string
		nodes     []*structs.Node
		live      map[string]int
		exclude   string
		wantNode  string
		wantScore float64
	}{
		{name: "no nodes", wantNode: ""},
		{name: "only unusable nodes", nodes: []*structs.Node{
			plNode("down", structs.NodeStatusDown), plNode("disc", structs.NodeStatusDisconnected),
			plNode("init", structs.NodeStatusInit), draining, inelig, nil}, wantNode: ""},
		{name: "only the excluded node", nodes: []*structs.Node{ready("n1")}, exclude: "n1", wantNode: ""},
		{name: "empty eligibility counts as eligible", nodes: []*structs.Node{{ID: "n1", Status: structs.NodeStatusReady}},
			wantNode: "n1", wantScore: 1},
		{name: "fewest live allocs wins", nodes: []*structs.Node{ready("a"), ready("b"), ready("c")},
			live: map[string]int{"a": 2, "b": 1, "c": 3}, wantNode: "b", wantScore: 0.5},
		{name: "ties broken by lowest ID", nodes: []*structs.Node{ready("a"), ready("b"), ready("c")},
			live: map[string]int{"a": 1, "b": 1, "c": 1}, wantNode: "a", wantScore: 0.5},
		{name: "first empty node wins", nodes: []*structs.Node{ready("a"), ready("b"), ready("c")},
			live: map[string]int{"a": 1}, wantNode: "b", wantScore: 1},
		{name: "unusable node with fewer allocs is skipped", nodes: []*structs.Node{draining, inelig, ready("z")},
			live: map[string]int{"z": 3}, wantNode: "z", wantScore: 0.25},
		{name: "excluded node is skipped even when emptiest", nodes: []*structs.Node{ready("a"), ready("b")},
			live: map[string]int{"b": 4}, exclude: "a", wantNode: "b", wantScore: 0.2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, score := DefaultPlacer{}.SelectNode(Placement{Name: "j.g[0]", TaskGroup: "g"}, nil, tc.nodes, tc.live, tc.exclude)
			must.Eq(t, tc.wantNode, got)
			must.Eq(t, tc.wantScore, score)
			if got != "" {
				must.Greater(t, 0, score)
				must.LessEq(t, 1, score)
			}
		})
	}
}
