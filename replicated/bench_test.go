package replicated_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// BenchmarkCluster_CommittedCommands measures committed commands per
// second through a 3-server in-memory raft cluster: client alloc updates
// (the hot write path, one alloc each) applied on the leader from many
// goroutines at once, each waiting for its command to be committed on a
// quorum and applied by the leader's FSM.
func BenchmarkCluster_CommittedCommands(b *testing.B) {
	for _, writers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			c := newCluster(b, 3, nil)
			l := c.waitLeader().s
			const nodes = 64
			var allocs []*structs.Allocation
			for i, cl := range newClients(nodes) {
				n := cl.node.Copy()
				n.Status = structs.NodeStatusReady
				_, _, err := l.rep.ApplyCommand(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n})
				must.NoError(b, err)
				allocs = append(allocs, &structs.Allocation{ID: fmt.Sprintf("alloc-%03d", i), Name: fmt.Sprintf("bench.web[%d]", i),
					JobID: "bench", TaskGroup: "web", NodeID: n.ID, DesiredStatus: structs.AllocDesiredStatusRun,
					ClientStatus: structs.AllocClientStatusPending})
			}
			_, _, err := l.rep.ApplyCommand(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: c.clk.Now(), AllocsPlaced: allocs})
			must.NoError(b, err)

			var next atomic.Int64
			var failed atomic.Int64
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						a := allocs[i%nodes]
						req := &structs.AllocUpdateRequest{NodeID: a.NodeID, UpdatedAt: i,
							Alloc: []*structs.Allocation{{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}}}
						if _, _, err := l.rep.ApplyCommand(structs.AllocClientUpdateRequestType, req); err != nil {
							failed.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			must.Eq(b, 0, failed.Load())
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
		})
	}
}
