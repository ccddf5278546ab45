package testutil

import (
	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// hookedStore is the store as the eval worker sees it: Hooks.MutatePlan
// can corrupt plans before they are applied.
type hookedStore struct {
	*state.Store
	mutate func(plan *structs.ApplyPlanResultsRequest, store *state.Store)
}

// ApplyCommand applies t, letting the hook change plans first.
func (h hookedStore) ApplyCommand(t structs.MessageType, req any) (uint64, any, error) {
	if plan, ok := req.(*structs.ApplyPlanResultsRequest); ok && h.mutate != nil {
		h.mutate(plan, h.Store)
	}
	return h.Store.ApplyCommand(t, req)
}

// roundRobinPlacer hands placements to the ready nodes in turn, skipping
// the node being replaced and nodes that already run an alloc of the job.
// Its cost per placement is the nodes it skips, not the cluster size.
type roundRobinPlacer struct {
	s    *Sim
	next int // index of the next client to try
}

// SelectNode implements reconcile.Placer.
func (p *roundRobinPlacer) SelectNode(_ reconcile.Placement, _ *structs.Job, _ []*structs.Node, liveByNode map[string]int, exclude string) (string, float64) {
	n := len(p.s.clients)
	for tries := 0; tries < n; tries++ {
		id := p.s.clients[p.next].ID
		p.next = (p.next + 1) % n
		if id != exclude && liveByNode[id] == 0 && p.s.stats.nodeStatus[id] == structs.NodeStatusReady {
			return id, 1
		}
	}
	return "", 0
}
