package state

import (
	"fmt"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// allowed is rule 6's complete list of node status changes.
var allowed = map[[2]string]bool{
	{"initializing", "ready"}: true, {"initializing", "down"}: true,
	{"ready", "disconnected"}: true, {"ready", "down"}: true,
	{"disconnected", "ready"}: true, {"disconnected", "down"}: true,
	{"down", "ready"}: true,
}

var nodeStatuses = []string{structs.NodeStatusInit, structs.NodeStatusReady, structs.NodeStatusDown, structs.NodeStatusDisconnected}

func TestNodeUpdateStatus_EveryPair(t *testing.T) {
	for _, from := range nodeStatuses {
		for _, to := range nodeStatuses {
			if from == to {
				continue
			}
			t.Run(from+"->"+to, func(t *testing.T) {
				s := testStore(t)
				registerNode(t, s, "n1", from)
				before := dump(t, s)
				idx, _, err := s.ApplyCommand(structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
					NodeID: "n1", Status: to, StatusDescription: "why", UpdatedAt: 7e9,
					Evals: []*structs.Evaluation{mockEval("e1", structs.EvalTriggerNodeUpdate)}})
				if !allowed[[2]string{from, to}] {
					must.ErrorIs(t, err, structs.ErrInvalidTransition)
					must.Eq(t, before, dump(t, s))
					return
				}
				must.NoError(t, err)
				n := node(t, s, "n1")
				must.Eq(t, to, n.Status)
				must.Eq(t, "why", n.StatusDescription)
				must.Eq(t, int64(7), n.StatusUpdatedAt)
				must.Eq(t, idx, n.ModifyIndex)
				must.Eq(t, idx, s.Index(TableNodes))
				must.Eq(t, idx, eval(t, s, "e1").CreateIndex)
				switch to {
				case structs.NodeStatusReady:
					must.Eq(t, 0, n.LastMissedHeartbeatIndex)
				default: // down or disconnected, from another status
					must.Eq(t, idx, n.LastMissedHeartbeatIndex)
				}
			})
		}
	}
}

func TestNodeUpdateStatus_LastMissedHeartbeatIndex(t *testing.T) {
	s := testStore(t)
	registerNode(t, s, "n1", structs.NodeStatusInit)
	must.Eq(t, 0, node(t, s, "n1").LastMissedHeartbeatIndex)
	step := func(status string) uint64 {
		idx, _ := apply(t, s, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{NodeID: "n1", Status: status})
		return idx
	}
	step("ready")
	disc := step("disconnected")
	must.Eq(t, disc, node(t, s, "n1").LastMissedHeartbeatIndex)
	step("disconnected") // same status: not a new miss
	must.Eq(t, disc, node(t, s, "n1").LastMissedHeartbeatIndex)
	down := step("down")
	must.Eq(t, down, node(t, s, "n1").LastMissedHeartbeatIndex)
	step("ready")
	must.Eq(t, 0, node(t, s, "n1").LastMissedHeartbeatIndex)
	step("ready")
	must.Eq(t, 0, node(t, s, "n1").LastMissedHeartbeatIndex)
}

func TestNodeRegister_New(t *testing.T) {
	cases := []struct{ given, want string }{
		{"", structs.NodeStatusInit},
		{"bogus", structs.NodeStatusInit},
		{structs.NodeStatusReady, structs.NodeStatusReady},
		{structs.NodeStatusDown, structs.NodeStatusDown},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("status %q", tc.given), func(t *testing.T) {
			s := testStore(t)
			n := mockNode("n1", tc.given)
			n.LastAllocUpdateIndex, n.CreateIndex = 99, 99
			idx, _ := apply(t, s, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n, UpdatedAt: 5e9})
			got := node(t, s, "n1")
			must.Eq(t, tc.want, got.Status)
			must.Eq(t, int64(5), got.StatusUpdatedAt)
			must.Eq(t, idx, got.CreateIndex)
			must.Eq(t, idx, got.ModifyIndex)
			must.Eq(t, 0, got.LastAllocUpdateIndex)
			must.Eq(t, idx, s.Index(TableNodes))
			bySecret, err := s.NodeBySecretID(nil, "secret-n1")
			must.NoError(t, err)
			must.Eq(t, got, bySecret)
		})
	}
}

func TestNodeRegister_ExistingKeepsStatus(t *testing.T) {
	s := seeded(t)
	upd, _ := apply(t, s, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{NodeID: "n1",
		Alloc: []*structs.Allocation{{ID: "a1", ClientStatus: "running"}}})
	created := node(t, s, "n1").CreateIndex
	down, _ := apply(t, s, structs.NodeUpdateStatusRequestType, &structs.NodeUpdateStatusRequest{
		NodeID: "n1", Status: "down", StatusDescription: "missed", UpdatedAt: 9e9})

	re := mockNode("n1", structs.NodeStatusReady)
	re.Name, re.SecretID, re.Drain = "renamed", "new-secret", true
	re.StatusDescription, re.StatusUpdatedAt = "forged", 1
	re.LastMissedHeartbeatIndex, re.LastAllocUpdateIndex, re.CreateIndex = 1, 1, 1
	idx, _ := apply(t, s, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: re, UpdatedAt: 100e9})

	got := node(t, s, "n1")
	must.Eq(t, structs.NodeStatusDown, got.Status)
	must.Eq(t, "missed", got.StatusDescription)
	must.Eq(t, int64(9), got.StatusUpdatedAt)
	must.Eq(t, down, got.LastMissedHeartbeatIndex)
	must.Eq(t, upd, got.LastAllocUpdateIndex)
	must.Eq(t, created, got.CreateIndex)
	must.Eq(t, idx, got.ModifyIndex)
	must.Eq(t, "renamed", got.Name)
	must.True(t, got.Drain)
	bySecret, err := s.NodeBySecretID(nil, "new-secret")
	must.NoError(t, err)
	must.Eq(t, got, bySecret)
	old, err := s.NodeBySecretID(nil, "secret-n1")
	must.NoError(t, err)
	must.Nil(t, old)
}

func TestNodeDeregister(t *testing.T) {
	s := seeded(t)
	idx, _ := apply(t, s, structs.NodeDeregisterRequestType, &structs.NodeDeregisterRequest{NodeIDs: []string{"n2", "n3", "n2"}})
	nodes, err := s.Nodes(nil)
	must.NoError(t, err)
	must.SliceLen(t, 1, nodes)
	must.Eq(t, "n1", nodes[0].ID)
	must.Eq(t, idx, s.Index(TableNodes))
	must.Eq(t, idx, s.LatestIndex())
}
