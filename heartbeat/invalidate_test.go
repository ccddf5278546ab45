package heartbeat

import (
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

func TestExpiredNodeStatus(t *testing.T) {
	now := epoch.Add(time.Hour)
	jobs := map[string]*structs.Job{"dis": job("dis", 5*time.Minute), "plain": job("plain", 0)}
	lookup := func(_, id string) *structs.Job { return jobs[id] }
	ready := &structs.Node{ID: "n1", Status: structs.NodeStatusReady}
	for _, tc := range []struct {
		name   string
		node   *structs.Node
		allocs []*structs.Allocation
		want   string
	}{
		{"running alloc with disconnect support", ready,
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "running")}, structs.NodeStatusDisconnected},
		{"pending reconnect within window", &structs.Node{Status: structs.NodeStatusDisconnected},
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "unknown", unknownAt(now.Add(-4*time.Minute)))},
			structs.NodeStatusDisconnected},
		{"expired reconnect", &structs.Node{Status: structs.NodeStatusDisconnected},
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "unknown", unknownAt(now.Add(-6*time.Minute)))},
			structs.NodeStatusDown},
		{"equal timestamp is expired", &structs.Node{Status: structs.NodeStatusDisconnected},
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "unknown", unknownAt(now.Add(-5*time.Minute)))},
			structs.NodeStatusDown},
		{"initializing always down", &structs.Node{Status: structs.NodeStatusInit},
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "running")}, structs.NodeStatusDown},
		{"no disconnect support", ready,
			[]*structs.Allocation{alloc("a", "n1", "plain", "run", "running")}, structs.NodeStatusDown},
		{"desired stop ignored", ready,
			[]*structs.Allocation{alloc("a", "n1", "dis", "stop", "running")}, structs.NodeStatusDown},
		{"client-terminal ignored", ready,
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "complete")}, structs.NodeStatusDown},
		{"job gone", ready,
			[]*structs.Allocation{alloc("a", "n1", "nojob", "run", "running")}, structs.NodeStatusDown},
		{"no allocs", ready, nil, structs.NodeStatusDown},
		{"one pending among expired", &structs.Node{Status: structs.NodeStatusDisconnected},
			[]*structs.Allocation{
				alloc("a", "n1", "dis", "run", "unknown", unknownAt(now.Add(-10*time.Minute))),
				alloc("b", "n1", "plain", "run", "running"),
				alloc("c", "n1", "dis", "run", "unknown", unknownAt(now.Add(-time.Minute))),
			}, structs.NodeStatusDisconnected},
		{"already down: nothing", &structs.Node{Status: structs.NodeStatusDown},
			[]*structs.Allocation{alloc("a", "n1", "dis", "run", "running")}, ""},
		{"deleted node: nothing", nil, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			must.Eq(t, tc.want, ExpiredNodeStatus(tc.node, tc.allocs, lookup, now))
		})
	}
}

func TestDecideExpired_RecheckAtEarliestWindowEnd(t *testing.T) {
	now := epoch.Add(time.Hour)
	jobs := map[string]*structs.Job{"dis": job("dis", 5*time.Minute), "long": job("long", time.Hour)}
	lookup := func(_, id string) *structs.Job { return jobs[id] }
	node := &structs.Node{Status: structs.NodeStatusDisconnected}
	status, recheck := decideExpired(node, []*structs.Allocation{
		alloc("a", "n1", "long", "run", "unknown", unknownAt(now.Add(-time.Minute))),
		alloc("b", "n1", "dis", "run", "unknown", unknownAt(now.Add(-2*time.Minute))),
	}, lookup, now)
	must.Eq(t, structs.NodeStatusDisconnected, status)
	must.Eq(t, now.Add(3*time.Minute), recheck)
}

func TestNodeEvals_OnePerJobSorted(t *testing.T) {
	n := 0
	newID := func() string { n++; return string(rune('0' + n)) }
	allocs := []*structs.Allocation{
		alloc("1", "n1", "z", "run", "running"),
		alloc("2", "n1", "a", "run", "running"),
		alloc("3", "n1", "z", "run", "pending"),
		alloc("4", "n1", "m", "stop", "running"), // still running: needs a lost stop
		alloc("5", "n1", "q", "run", "failed"),   // finished: nothing to do
	}
	evals := nodeEvals("n1", allocs, nil, epoch, newID)
	var got []string
	for _, e := range evals {
		got = append(got, e.JobID)
	}
	must.Eq(t, []string{"a", "m", "z"}, got)
	must.Eq(t, "1", evals[0].ID)
}
