package rpc

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// GetClientAllocs returns the AllocModifyIndex of each of the node's allocs.
// It is a blocking query: it returns once the node's allocs change past
// MinQueryIndex, or when MaxQueryTime (default DefaultQueryTime, at most
// MaxQueryTime, plus up to 1/JitterFraction of jitter) has passed. A node
// reads only its own allocs. No lock is held while it waits.
func (n *Node) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	const method = "Node.GetClientAllocs"
	if args == nil {
		return n.reject(method, "", rejectf(structs.ErrInvalidRequest, "empty request"))
	}
	id := args.NodeID
	if _, err := n.authNode(id, args.SecretID); err != nil {
		return n.reject(method, id, err)
	}
	wait := queryWait(args.MaxQueryTime, n.cfg.Jitter)
	ctx, cancel := context.WithCancel(n.done)
	defer cancel()
	timer := n.clock.AfterFunc(wait, cancel)
	defer timer.Stop()

	var allocs map[string]uint64
	index, err := n.store.BlockingQuery(ctx, args.MinQueryIndex,
		func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
			list, err := snap.AllocsByNode(ws, id)
			if err != nil {
				return 0, err
			}
			m := make(map[string]uint64, len(list))
			var idx uint64
			for _, a := range list {
				m[a.ID] = a.AllocModifyIndex
				idx = max(idx, a.ModifyIndex)
			}
			if len(list) == 0 {
				// Nothing of ours to watch: use the table's index so the
				// first alloc placed here wakes the query.
				idx = snap.Index("allocs")
			}
			allocs = m
			// Never 0: a client passing the returned index back must block.
			return max(idx, 1), nil
		})
	if err != nil {
		return n.reject(method, id, fmt.Errorf("%w: allocs of node %q: %w", ErrInternal, id, err))
	}
	*reply = structs.NodeClientAllocsResponse{Allocs: allocs, Index: index}
	return nil
}

// queryWait bounds a blocking query's wait and adds jitter.
func queryWait(asked time.Duration, jitter func(time.Duration) time.Duration) time.Duration {
	switch {
	case asked <= 0:
		asked = DefaultQueryTime
	case asked > MaxQueryTime:
		asked = MaxQueryTime
	}
	return asked + jitter(asked/JitterFraction)
}
