package rpc

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// rejectFixture: ready n1 (allocs a1 running, a2 complete), ready n2 (a3),
// initializing n-init, disconnected n-disc, down n-down (each with an
// alloc), job web.
func rejectFixture(t *testing.T) *fixture {
	f := newFixture(t, nil)
	f.addJob("web")
	for id, st := range map[string]string{
		"n1": structs.NodeStatusReady, "n2": structs.NodeStatusReady,
		"n-init": structs.NodeStatusInit, "n-disc": structs.NodeStatusDisconnected, "n-down": structs.NodeStatusDown,
	} {
		f.addNode(id, st)
	}
	f.place(
		testAlloc("a1", "web", "n1", structs.AllocClientStatusRunning),
		testAlloc("a2", "web", "n1", structs.AllocClientStatusComplete),
		testAlloc("a3", "web", "n2", structs.AllocClientStatusRunning),
		testAlloc("ai", "web", "n-init", structs.AllocClientStatusRunning),
		testAlloc("ad", "web", "n-disc", structs.AllocClientStatusRunning),
		testAlloc("ao", "web", "n-down", structs.AllocClientStatusRunning),
	)
	return f
}

func TestUpdateAlloc_WholeRequestRejections(t *testing.T) {
	run := structs.AllocClientStatusRunning
	s1 := secretOf("n1")
	cases := []struct {
		name string
		req  *structs.AllocUpdateRequest
		want error
	}{
		{"nil request", nil, structs.ErrInvalidRequest},
		{"empty request", &structs.AllocUpdateRequest{}, structs.ErrInvalidRequest},
		{"no allocs", update("n1", s1), structs.ErrInvalidRequest},
		{"missing node id", update("", s1, report("a1", run)), structs.ErrInvalidRequest},
		{"nil alloc", update("n1", s1, report("a1", run), nil), structs.ErrInvalidRequest},
		{"alloc without id", update("n1", s1, report("", run)), structs.ErrInvalidRequest},
		{"empty client status", update("n1", s1, report("a1", "")), structs.ErrInvalidRequest},
		{"bogus client status", update("n1", s1, report("a1", "exploded")), structs.ErrInvalidRequest},
		{"server-only unknown", update("n1", s1, report("a1", structs.AllocClientStatusUnknown)), structs.ErrInvalidRequest},
		{"server-only lost", update("n1", s1, report("a1", run), report("a1", structs.AllocClientStatusLost)), structs.ErrInvalidRequest},
		{"unknown node", update("n9", secretOf("n9"), report("a1", run)), structs.ErrUnknownNode},
		{"wrong secret", update("n1", secretOf("n2"), report("a1", run)), structs.ErrPermissionDenied},
		{"empty secret", update("n1", "", report("a1", run)), structs.ErrPermissionDenied},
		{"node initializing", update("n-init", secretOf("n-init"), report("ai", run)), structs.ErrNodeNotReady},
		{"node disconnected", update("n-disc", secretOf("n-disc"), report("ad", run)), structs.ErrNodeNotReady},
		{"node down", update("n-down", secretOf("n-down"), report("ao", run)), structs.ErrNodeNotReady},
		{"another node's alloc", update("n1", s1, report("a1", run), report("a3", run)), structs.ErrPermissionDenied},
		{"another node's alloc after a skipped one", update("n1", s1, report("gone", run), report("a3", run)), structs.ErrPermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rejectFixture(t)
			before := f.dump()
			var reply structs.AllocUpdateResponse
			err := f.node.UpdateAlloc(tc.req, &reply)
			must.ErrorIs(t, err, tc.want)
			must.Eq(t, before, f.dump())
			must.Eq(t, structs.AllocUpdateResponse{}, reply)
			must.StrContains(t, f.logs.String(), "rejected")
		})
	}
}

func TestUpdateStatus_Rejections(t *testing.T) {
	cases := []struct {
		name string
		req  *structs.NodeUpdateStatusRequest
		want error
	}{
		{"nil request", nil, structs.ErrInvalidRequest},
		{"missing node id", &structs.NodeUpdateStatusRequest{SecretID: "x", Status: structs.NodeStatusReady}, structs.ErrInvalidRequest},
		{"unknown node", &structs.NodeUpdateStatusRequest{NodeID: "n9", SecretID: secretOf("n9"), Status: structs.NodeStatusReady}, structs.ErrUnknownNode},
		{"wrong secret", &structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: "nope", Status: structs.NodeStatusReady}, structs.ErrPermissionDenied},
		{"empty status", &structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1")}, structs.ErrInvalidNodeStatus},
		{"bogus status", &structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: "asleep"}, structs.ErrInvalidNodeStatus},
		{"initializing to disconnected", &structs.NodeUpdateStatusRequest{NodeID: "n-init", SecretID: secretOf("n-init"), Status: structs.NodeStatusDisconnected}, structs.ErrInvalidTransition},
		{"ready to initializing", &structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusInit}, structs.ErrInvalidTransition},
		{"down to disconnected", &structs.NodeUpdateStatusRequest{NodeID: "n-down", SecretID: secretOf("n-down"), Status: structs.NodeStatusDisconnected}, structs.ErrInvalidTransition},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rejectFixture(t)
			before := f.dump()
			var reply structs.NodeUpdateResponse
			err := f.node.UpdateStatus(tc.req, &reply)
			must.ErrorIs(t, err, tc.want)
			must.Eq(t, before, f.dump())
			if tc.req != nil {
				r, c := f.hb.counts(tc.req.NodeID)
				must.Eq(t, 0, r+c) // a refused heartbeat does not touch the timer
			}
		})
	}
}

func TestRegister_Rejections(t *testing.T) {
	node := func(id, secret string) *structs.NodeRegisterRequest {
		return &structs.NodeRegisterRequest{Node: &structs.Node{ID: id, SecretID: secret, Name: "changed"}}
	}
	cases := []struct {
		name string
		req  *structs.NodeRegisterRequest
		want error
	}{
		{"nil request", nil, structs.ErrInvalidRequest},
		{"no node", &structs.NodeRegisterRequest{}, structs.ErrInvalidRequest},
		{"missing id", node("", "s"), structs.ErrInvalidRequest},
		{"missing secret", node("n7", ""), structs.ErrInvalidRequest},
		{"existing node, other secret", node("n1", secretOf("n2")), structs.ErrPermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rejectFixture(t)
			before := f.dump()
			var reply structs.NodeUpdateResponse
			must.ErrorIs(t, f.node.Register(tc.req, &reply), tc.want)
			must.Eq(t, before, f.dump())
		})
	}
}

func TestGetClientAllocs_Rejections(t *testing.T) {
	cases := []struct {
		name string
		req  *structs.NodeSpecificRequest
		want error
	}{
		{"nil request", nil, structs.ErrInvalidRequest},
		{"missing node id", &structs.NodeSpecificRequest{SecretID: "x"}, structs.ErrInvalidRequest},
		{"unknown node", &structs.NodeSpecificRequest{NodeID: "n9", SecretID: secretOf("n9")}, structs.ErrUnknownNode},
		{"another node's secret", &structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n2")}, structs.ErrPermissionDenied},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := rejectFixture(t)
			var reply structs.NodeClientAllocsResponse
			must.ErrorIs(t, f.node.GetClientAllocs(tc.req, &reply), tc.want)
			must.MapEmpty(t, reply.Allocs)
		})
	}
}

// Rejections are logged with the node and the reason, never the secret.
func TestRejectionLogsNodeNotSecret(t *testing.T) {
	f := rejectFixture(t)
	const hostile = "s3cr3t-value-never-logged"
	var reply structs.AllocUpdateResponse
	must.ErrorIs(t, f.node.UpdateAlloc(update("n1", hostile, report("a1", structs.AllocClientStatusRunning)), &reply),
		structs.ErrPermissionDenied)
	must.ErrorIs(t, f.node.UpdateAlloc(update("n-init", secretOf("n-init"), report("ai", structs.AllocClientStatusRunning)), &reply),
		structs.ErrNodeNotReady)
	logs := f.logs.String()
	must.StrContains(t, logs, "node_id=n1")
	must.StrContains(t, logs, "node_id=n-init")
	must.StrContains(t, logs, "permission denied")
	must.StrContains(t, logs, "not ready")
	must.StrNotContains(t, logs, hostile)
	must.StrNotContains(t, logs, secretOf("n-init"))
}
