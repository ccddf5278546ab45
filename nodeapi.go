package rejoin

import (
	"github.com/rejoinhq/rejoin/metrics"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/structs"
)

// meteredNode is the Node endpoints with alloc-update metrics: accepted
// allocs, skips by reason, and whole-call rejections by reason. Both the
// in-process and the TCP transport go through it.
type meteredNode struct {
	rpc.NodeAPI
	rec *metrics.Recorder
}

func (m *meteredNode) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) error {
	err := m.NodeAPI.UpdateAlloc(args, reply)
	if err != nil {
		m.rec.AllocRejected(err)
		return err
	}
	var skipped map[string]int
	if len(reply.Skipped) > 0 {
		skipped = map[string]int{}
		for _, s := range reply.Skipped {
			skipped[s.Reason]++
		}
	}
	m.rec.AllocUpdate(len(args.Alloc)-len(reply.Skipped), skipped)
	return nil
}

// meteredJobs counts job writes.
type meteredJobs struct {
	rpc.JobAPI
	rec *metrics.Recorder
}

func (m *meteredJobs) Register(args *rpc.JobRegisterRequest, reply *rpc.JobRegisterResponse) error {
	err := m.JobAPI.Register(args, reply)
	if err == nil {
		m.rec.Count(metrics.KeyJobRegister)
	}
	return err
}

func (m *meteredJobs) Deregister(args *rpc.JobDeregisterRequest, reply *rpc.JobDeregisterResponse) error {
	err := m.JobAPI.Deregister(args, reply)
	if err == nil {
		m.rec.Count(metrics.KeyJobDeregister)
	}
	return err
}
