package testutil

import (
	"errors"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// The server side of the simulated clients' calls: each runs when the
// request arrives over the simulated network and calls the real RPC
// endpoints in-process.

func (s *Sim) srvRegister(c *SimClient) (*structs.NodeUpdateResponse, error) {
	var resp structs.NodeUpdateResponse
	err := c.api.Register(&structs.NodeRegisterRequest{
		Node: &structs.Node{ID: c.ID, SecretID: c.Secret, Name: c.ID, Datacenter: "dc1", NodePool: "default",
			SchedulingEligibility: structs.NodeSchedulingEligible},
		UpdatedAt: s.clk.Now().UnixNano(),
	}, &resp)
	return &resp, err
}

// srvHeartbeat is UpdateStatus(ready) followed, when it succeeds, by a
// non-blocking GetClientAllocs and a read of the allocs it names (what a
// client pulls after its heartbeat; a blocking query would stall the single
// simulation goroutine).
// The pull is skipped (nil allocs, changed false) when no alloc changed in
// the store since the client's last pull.
func (s *Sim) srvHeartbeat(c *SimClient) (resp *structs.NodeUpdateResponse, allocs []*serverAlloc, changed bool, err error) {
	s.stats.Heartbeats++
	resp = &structs.NodeUpdateResponse{}
	err = c.api.UpdateStatus(&structs.NodeUpdateStatusRequest{
		NodeID: c.ID, SecretID: c.Secret, Status: structs.NodeStatusReady,
	}, resp)
	if err != nil || (c.pulledAt == s.allocIdx && c.pulledAt != 0) {
		return resp, nil, false, err
	}
	var list structs.NodeClientAllocsResponse
	if err := c.api.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: c.ID, SecretID: c.Secret}, &list); err != nil {
		return resp, nil, false, err
	}
	c.pulledAt = s.allocIdx
	ids := sortedKeys(list.Allocs)
	out := make([]*serverAlloc, 0, len(ids))
	for _, id := range ids {
		a, err := s.store.AllocByID(nil, id)
		if err != nil || a == nil {
			continue
		}
		sa := &serverAlloc{alloc: a}
		if job, _ := s.store.JobByID(nil, a.Namespace, a.JobID); job != nil {
			sa.batch = job.Type == structs.JobTypeBatch
			if d := job.LookupTaskGroup(a.TaskGroup).StopOnClientAfter(); d != nil {
				sa.stopAfter = *d
			}
		}
		out = append(out, sa)
	}
	return resp, out, true, nil
}

// srvUpdateAlloc calls UpdateAlloc and checks I4 around it.
func (s *Sim) srvUpdateAlloc(c *SimClient, allocs []*structs.Allocation) (*structs.AllocUpdateResponse, error) {
	s.stats.AllocUpdateCalls++
	status := ""
	if n, _ := s.store.NodeByID(nil, c.ID); n != nil {
		status = n.Status
	}
	before := make(map[string]uint64, len(allocs))
	for _, a := range allocs {
		before[a.ID] = s.checker.ModifyIndex(a.ID)
	}
	broken := s.cfg.Hooks.DisableReadyCheck && status != structs.NodeStatusReady && status != ""
	if broken {
		s.setNodeStatus(c.ID, structs.NodeStatusReady)
	}
	var resp structs.AllocUpdateResponse
	err := c.api.UpdateAlloc(&structs.AllocUpdateRequest{NodeID: c.ID, SecretID: c.Secret, Alloc: allocs}, &resp)
	if broken {
		s.setNodeStatus(c.ID, status)
	}
	if errors.Is(err, structs.ErrNodeNotReady) {
		s.stats.AllocUpdatesNotReady++
	}
	s.checker.CheckClientUpdate(c.ID, status, before)
	return &resp, err
}

// setNodeStatus writes a node status directly (only for Hooks).
func (s *Sim) setNodeStatus(id, status string) {
	_, _, _ = s.store.ApplyCommand(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: id, Status: status, UpdatedAt: s.clk.Now().Add(time.Nanosecond).UnixNano(),
	})
}
