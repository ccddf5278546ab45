package state

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// TestApplyCommand_ClientUpdateMatchesDecodedApply: the client update that
// ApplyCommand applies without encoding produces exactly the state Apply
// produces from the encoded request, and keeps nothing of the caller's.
func TestApplyCommand_ClientUpdateMatchesDecodedApply(t *testing.T) {
	local := time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("x", 3600))
	req := &structs.AllocUpdateRequest{UpdatedAt: 77, Alloc: []*structs.Allocation{
		{ID: "a1", ClientStatus: "running", ClientDescription: "d",
			TaskStates: map[string]*structs.TaskState{"app": {State: "running", StartedAt: local}, "side": nil}},
		{ID: "a2", ClientStatus: "pending", TaskStates: map[string]*structs.TaskState{}},
		{ID: "a3", ClientStatus: "failed"}, // nil TaskStates
		{ID: "gone", ClientStatus: "running"},
	}, Evals: []*structs.Evaluation{mockEval("e1", structs.EvalTriggerRetryFailedAlloc)}}

	direct, decoded := seeded(t), seeded(t)
	disconnectA1(t, direct)
	disconnectA1(t, decoded)
	idx, res1, err := direct.ApplyCommand(structs.AllocClientUpdateRequestType, req)
	must.NoError(t, err)
	res2, err := decoded.Apply(idx, structs.AllocClientUpdateRequestType, encode(t, req))
	must.NoError(t, err)
	must.Eq(t, res1, res2)
	must.Eq(t, dump(t, decoded), dump(t, direct))
	must.NotNil(t, alloc(t, direct, "a2").TaskStates)
	must.Nil(t, alloc(t, direct, "a3").TaskStates)

	// The caller's request is not shared with the store.
	before := dump(t, direct)
	req.Alloc[0].TaskStates["app"].State = "mutated"
	req.Alloc[0].TaskStates["new"] = &structs.TaskState{}
	req.Evals[0].Status = "mutated"
	must.Eq(t, before, dump(t, direct))
}

func TestApplyCommand_ClientUpdateWithSinkRecordsPayload(t *testing.T) {
	s := seeded(t)
	var payload []byte
	s.SetCommandSink(func(_ uint64, _ structs.MessageType, p []byte) { payload = p })
	clientUpdate(t, s, "n1", &structs.Allocation{ID: "a1", ClientStatus: "failed"})
	got, err := structs.DecodeCommand(structs.AllocClientUpdateRequestType, payload)
	must.NoError(t, err)
	must.Eq(t, "failed", got.(*structs.AllocUpdateRequest).Alloc[0].ClientStatus)
}
