package rpc

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/shoenig/test/must"
	"pgregory.net/rapid"

	"github.com/rejoinhq/rejoin/structs"
)

// encodeParams returns the msgpack-rpc params array of body, as the client
// codec writes it.
func encodeParams(t must.T, body any) []byte {
	var buf []byte
	must.NoError(t, codec.NewEncoderBytes(&buf, structs.MsgpackHandle).Encode([]any{body}))
	return buf
}

// codecDecodeParams decodes params as the server did before the direct
// decoder: with the codec.
func codecDecodeParams(b []byte) (*structs.AllocUpdateRequest, int, error) {
	req := &structs.AllocUpdateRequest{}
	dec := codec.NewDecoderBytes(b, structs.MsgpackHandle)
	params := []any{req}
	err := dec.Decode(&params)
	return req, dec.NumBytesRead(), err
}

func genString(t *rapid.T, label string) string {
	switch rapid.IntRange(0, 3).Draw(t, label+"-kind") {
	case 0:
		return ""
	case 1:
		return rapid.StringN(1, 31, -1).Draw(t, label)
	case 2:
		return strings.Repeat("x", rapid.IntRange(32, 300).Draw(t, label+"-len"))
	}
	return rapid.String().Draw(t, label)
}

func genTime(t *rapid.T, label string) time.Time {
	switch rapid.IntRange(0, 2).Draw(t, label+"-kind") {
	case 0:
		return time.Time{}
	case 1:
		return time.Unix(rapid.Int64Range(-1<<40, 1<<40).Draw(t, label), rapid.Int64Range(0, 999999999).Draw(t, label+"-ns")).UTC()
	}
	return time.Unix(rapid.Int64Range(0, 1<<34).Draw(t, label), 0).In(time.FixedZone("z", rapid.IntRange(-12, 12).Draw(t, label+"-tz")*3600))
}

func genAllocReport(t *rapid.T) *structs.Allocation {
	a := &structs.Allocation{
		ID: genString(t, "id"), Namespace: genString(t, "ns"), EvalID: genString(t, "eval"), Name: genString(t, "name"),
		NodeID: genString(t, "node"), JobID: genString(t, "job"), JobVersion: rapid.Uint64().Draw(t, "jv"),
		TaskGroup: genString(t, "tg"), DesiredStatus: genString(t, "ds"), DesiredDescription: genString(t, "dd"),
		ClientStatus: genString(t, "cs"), ClientDescription: genString(t, "cd"),
		PreviousAllocation: genString(t, "prev"), NextAllocation: genString(t, "next"), FollowupEvalID: genString(t, "fu"),
		CreateIndex: rapid.Uint64().Draw(t, "ci"), ModifyIndex: rapid.Uint64().Draw(t, "mi"),
		AllocModifyIndex: rapid.Uint64().Draw(t, "ami"), CreateTime: rapid.Int64().Draw(t, "ct"), ModifyTime: rapid.Int64().Draw(t, "mt"),
	}
	if rapid.Bool().Draw(t, "has-tasks") {
		a.TaskStates = map[string]*structs.TaskState{}
		for i := range rapid.IntRange(0, 3).Draw(t, "tasks") {
			a.TaskStates[fmt.Sprintf("t%d-%s", i, genString(t, "task"))] = &structs.TaskState{
				State: genString(t, "state"), Failed: rapid.Bool().Draw(t, "failed"), Restarts: rapid.Uint64().Draw(t, "restarts"),
				LastRestart: genTime(t, "lr"), StartedAt: genTime(t, "sa"), FinishedAt: genTime(t, "fa")}
		}
	}
	return a
}

// TestFastAllocUpdateDecodeMatchesCodec: for every request a client sends,
// the direct decoder builds exactly what the codec builds, and reads the
// same bytes; for the shapes it leaves to the codec, it says so.
func TestFastAllocUpdateDecodeMatchesCodec(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		req := &structs.AllocUpdateRequest{NodeID: genString(t, "req-node"), SecretID: genString(t, "secret"),
			UpdatedAt: rapid.Int64().Draw(t, "updated")}
		for range rapid.IntRange(1, 20).Draw(t, "allocs") {
			req.Alloc = append(req.Alloc, genAllocReport(t))
		}
		b := encodeParams(t, req)
		want, wantN, err := codecDecodeParams(b)
		must.NoError(t, err)

		got := &structs.AllocUpdateRequest{}
		n, ok := decodeAllocUpdateParams(b, got)
		must.True(t, ok)
		must.Eq(t, wantN, n)
		must.Eq(t, want, got)
	})
}

func TestFastAllocUpdateDecodeLeavesOtherShapesToCodec(t *testing.T) {
	base := func() *structs.AllocUpdateRequest {
		return update("n1", "s", report("a1", structs.AllocClientStatusRunning))
	}
	for name, body := range map[string]any{
		"evals":          func() any { r := base(); r.Evals = []*structs.Evaluation{{ID: "e"}}; return r }(),
		"alloc-states":   func() any { r := base(); r.Alloc[0].AllocStates = []*structs.AllocState{{Value: "running"}}; return r }(),
		"metrics":        func() any { r := base(); r.Alloc[0].Metrics = &structs.AllocMetric{}; return r }(),
		"empty-allocs":   &structs.AllocUpdateRequest{NodeID: "n1", Alloc: []*structs.Allocation{}},
		"nil-alloc":      &structs.AllocUpdateRequest{NodeID: "n1", Alloc: []*structs.Allocation{nil}},
		"nil-task-state": func() any { r := base(); r.Alloc[0].TaskStates = map[string]*structs.TaskState{"app": nil}; return r }(),
		"unknown-field":  map[string]any{"NodeID": "n1", "Extra": 1},
		"repeated-field": nil, // built below
		"wrong-type":     map[string]any{"NodeID": 7},
		"negative-index": map[string]any{"Alloc": []any{map[string]any{"ID": "a", "CreateIndex": -1}}},
	} {
		t.Run(name, func(t *testing.T) {
			var b []byte
			if body == nil {
				// {"NodeID": "a", "NodeID": "b"}: the codec keeps the last.
				b = []byte{0x91, 0x82, 0xa6, 'N', 'o', 'd', 'e', 'I', 'D', 0xa1, 'a', 0xa6, 'N', 'o', 'd', 'e', 'I', 'D', 0xa1, 'b'}
			} else {
				b = encodeParams(t, body)
			}
			_, ok := decodeAllocUpdateParams(b, &structs.AllocUpdateRequest{})
			must.False(t, ok)
		})
	}
}

// FuzzFastAllocUpdateDecode: whatever bytes the direct decoder accepts, the
// codec decodes to the same request from the same bytes.
func FuzzFastAllocUpdateDecode(f *testing.F) {
	f.Add(encodeParams(f, update("n1", "s", report("a1", structs.AllocClientStatusRunning))))
	f.Add(encodeParams(f, &structs.AllocUpdateRequest{NodeID: "n", UpdatedAt: -5, Alloc: []*structs.Allocation{{ID: "a",
		CreateIndex: 1 << 40, ModifyTime: -1 << 40, TaskStates: map[string]*structs.TaskState{
			"x": {State: "dead", Failed: true, Restarts: 300, StartedAt: t0, FinishedAt: t0.Add(time.Hour)}}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := &structs.AllocUpdateRequest{}
		n, ok := decodeAllocUpdateParams(b, got)
		if !ok {
			return
		}
		want, wantN, err := codecDecodeParams(b)
		must.NoError(t, err)
		must.Eq(t, wantN, n)
		must.Eq(t, want, got)
	})
}
