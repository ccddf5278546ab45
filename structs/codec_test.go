package structs

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func fullAlloc() *Allocation {
	return &Allocation{
		ID: "a1", Namespace: "default", EvalID: "e1", Name: "web.web[0]", NodeID: "n1",
		JobID: "web", JobVersion: 3, TaskGroup: "web",
		DesiredStatus: "run", DesiredDescription: "d", ClientStatus: "unknown", ClientDescription: "c",
		AllocStates:        []*AllocState{cs("running", at(0)), cs("unknown", at(1).Add(123))},
		PreviousAllocation: "a0", NextAllocation: "a2", FollowupEvalID: "e2",
		Metrics: &AllocMetric{ScoreMetaData: []*NodeScoreMeta{{NodeID: "n1", NormScore: 0.8, Scores: map[string]float64{"binpack": 0.8}}}},
		TaskStates: map[string]*TaskState{"web": {
			State: "running", Failed: true, Restarts: 2,
			LastRestart: at(3), StartedAt: at(1), FinishedAt: at(4),
		}},
		RescheduleTracker: &RescheduleTracker{Events: []*RescheduleEvent{{RescheduleTime: at(2).UnixNano(), PrevAllocID: "a0", PrevNodeID: "n0", Delay: time.Second}}},
		CreateIndex:       1, ModifyIndex: 2, AllocModifyIndex: 3, CreateTime: 4, ModifyTime: 5,
	}
}

func roundTrip[T any](t *testing.T, in *T) {
	t.Helper()
	buf, err := Marshal(in)
	must.NoError(t, err)
	out := new(T)
	must.NoError(t, Unmarshal(buf, out))
	must.Eq(t, in, out)
}

func TestCodec_RoundTripEveryStruct(t *testing.T) {
	j := validJob()
	j.TaskGroups[0].MaxClientDisconnect = dur(time.Minute)
	j.TaskGroups[0].Disconnect.StopOnClientAfter = nil
	j.Datacenters = []string{"dc1"}
	ev := &Evaluation{ID: "e1", Namespace: "default", Priority: 50, Type: "service",
		TriggeredBy: EvalTriggerMaxDisconnectTimeout, JobID: "web", NodeID: "n1", Status: EvalStatusPending,
		WaitUntil: at(5), PreviousEval: "e0", CreateIndex: 1, ModifyIndex: 2, CreateTime: 3, ModifyTime: 4}
	node := &Node{ID: "n1", SecretID: "s", Name: "n1", Datacenter: "dc1", NodePool: "default", Status: "ready",
		StatusDescription: "ok", StatusUpdatedAt: 9, SchedulingEligibility: "eligible", Drain: true,
		LastMissedHeartbeatIndex: 4, LastAllocUpdateIndex: 5, CreateIndex: 6, ModifyIndex: 7}

	roundTrip(t, fullAlloc())
	roundTrip(t, j)
	roundTrip(t, ev)
	roundTrip(t, node)
	roundTrip(t, &NodeRegisterRequest{Node: node, UpdatedAt: 1})
	roundTrip(t, &NodeDeregisterRequest{NodeIDs: []string{"n1", "n2"}})
	roundTrip(t, &NodeUpdateStatusRequest{NodeID: "n1", Status: "down", StatusDescription: "x", UpdatedAt: 2, Evals: []*Evaluation{ev}})
	roundTrip(t, &JobRegisterRequest{Job: j, Eval: ev, UpdatedAt: 3})
	roundTrip(t, &JobDeregisterRequest{Namespace: "default", JobID: "web", Purge: true, Eval: ev, UpdatedAt: 4})
	roundTrip(t, &EvalUpdateRequest{Evals: []*Evaluation{ev, ev}})
	roundTrip(t, &AllocUpdateRequest{NodeID: "n1", SecretID: "s", Alloc: []*Allocation{fullAlloc()}, Evals: []*Evaluation{ev}, UpdatedAt: 5})
	roundTrip(t, &AllocUpdateResult{Applied: []string{"a1"}, Skipped: []*AllocUpdateSkip{{AllocID: "a2", NodeID: "n1", Reason: SkipUnknownAlloc}}})
	roundTrip(t, &ApplyPlanResultsRequest{
		EvalID: "e1", Namespace: "default", JobID: "web", Now: at(7),
		AllocsPlaced:       []*Allocation{fullAlloc()},
		AllocsStopped:      []*AllocStopUpdate{{AllocID: "a1", ClientStatus: "lost", Description: AllocLost}},
		AllocsDisconnected: []*AllocFollowupUpdate{{AllocID: "a2", FollowupEvalID: "e3"}},
		AllocsReconnected:  []string{"a3"},
		AllocsUpdated:      []*AllocInPlaceUpdate{{AllocID: "a4", JobVersion: 2}},
		AllocFollowups:     []*AllocFollowupUpdate{{AllocID: "a5", FollowupEvalID: "e4"}},
		Evals:              []*Evaluation{ev},
	})
	roundTrip(t, &NodeSpecificRequest{NodeID: "n1", SecretID: "s", QueryOptions: QueryOptions{MinQueryIndex: 3, MaxQueryTime: time.Second, AllowStale: true}})
	roundTrip(t, &GenericResponse{Index: 9})
	roundTrip(t, &NodeUpdateResponse{HeartbeatTTL: time.Second, EvalIDs: []string{"e1"}, NodeModifyIndex: 2, Index: 3})
	roundTrip(t, &NodeClientAllocsResponse{Allocs: map[string]uint64{"a1": 3}, Index: 4})
	roundTrip(t, &AllocUpdateResponse{Index: 1, Skipped: []*AllocUpdateSkip{{AllocID: "a", Reason: SkipClientTerminal}}})
}

func TestCodec_TimesUseBinaryEncodingNotExtension(t *testing.T) {
	// With TimeNotBuiltin a time is written through its binary marshaler (a
	// msgpack str/bin), never the msgpack timestamp extension (0xd6/0xd7/0xc7 -1).
	buf, err := Marshal(&AllocState{Time: at(1)})
	must.NoError(t, err)
	for i := 0; i+1 < len(buf); i++ {
		if (buf[i] == 0xd6 || buf[i] == 0xd7) && buf[i+1] == 0xff {
			t.Fatalf("timestamp extension found at %d: % x", i, buf)
		}
	}
	var s AllocState
	must.NoError(t, Unmarshal(buf, &s))
	must.True(t, s.Time.Equal(at(1)))
}

func TestCodec_DecodeCommand(t *testing.T) {
	payload, err := Marshal(&NodeDeregisterRequest{NodeIDs: []string{"n1"}})
	must.NoError(t, err)
	v, err := DecodeCommand(NodeDeregisterRequestType, payload)
	must.NoError(t, err)
	must.Eq(t, []string{"n1"}, v.(*NodeDeregisterRequest).NodeIDs)

	_, err = DecodeCommand(MessageType(99), payload)
	must.ErrorIs(t, err, ErrUnknownCommand)
	_, err = DecodeCommand(NodeDeregisterRequestType, []byte{0xc1}) // never-used byte
	must.ErrorIs(t, err, ErrDecode)
	_, err = DecodeCommand(ApplyPlanResultsRequestType, []byte{0x81, 0xa3, 'N', 'o', 'w', 0x07})
	must.ErrorIs(t, err, ErrDecode)

	must.Eq(t, "ApplyPlanResults", ApplyPlanResultsRequestType.String())
	must.Eq(t, "NodeRegister", (NodeRegisterRequestType | IgnoreUnknownTypeFlag).String())
	must.Eq(t, "MessageType(99)", MessageType(99).String())
}

func TestCodec_UnknownFieldsIgnored(t *testing.T) {
	type future struct {
		ID       string
		Status   string
		NewField map[string]int
	}
	buf, err := Marshal(&future{ID: "n1", Status: "ready", NewField: map[string]int{"x": 1}})
	must.NoError(t, err)
	var n Node
	must.NoError(t, Unmarshal(buf, &n))
	must.Eq(t, "n1", n.ID)
	must.Eq(t, "ready", n.Status)
}

func FuzzUnmarshalCommand(f *testing.F) {
	for typ := MessageType(0); typ <= ApplyPlanResultsRequestType; typ++ {
		v := NewCommandPayload(typ)
		buf, err := Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(typ), buf)
	}
	full, _ := Marshal(&AllocUpdateRequest{Alloc: []*Allocation{fullAlloc()}})
	f.Add(uint8(AllocClientUpdateRequestType), full)
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		v, err := DecodeCommand(MessageType(typ), payload)
		if err != nil {
			if v != nil {
				t.Fatalf("value returned with error %v", err)
			}
			return
		}
		// Whatever decoded must encode again.
		if _, err := Marshal(v); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
	})
}

func TestCodec_CanonicalIsIndependentOfMapOrder(t *testing.T) {
	a := fullAlloc()
	for i := 0; i < 8; i++ {
		a.TaskStates[string(rune('a'+i))] = &TaskState{State: "running", Restarts: uint64(i)}
	}
	first, err := MarshalCanonical(a)
	must.NoError(t, err)
	for i := 0; i < 50; i++ { // Go randomises map iteration on every range
		again, err := MarshalCanonical(a.Copy())
		must.NoError(t, err)
		must.Eq(t, first, again)
	}
	var back Allocation
	must.NoError(t, Unmarshal(first, &back))
	must.Eq(t, a, &back)
}
