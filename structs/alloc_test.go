package structs

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func cs(v string, tm time.Time) *AllocState {
	return &AllocState{Field: AllocStateFieldClientStatus, Value: v, Time: tm}
}

func TestAllocation_LastClientStatus(t *testing.T) {
	cases := []struct {
		name   string
		states []*AllocState
		want   string
		recon  bool
	}{
		{"no states", nil, "", false},
		{"running", []*AllocState{cs("running", at(0))}, "running", false},
		{"unknown last", []*AllocState{cs("running", at(0)), cs("unknown", at(1))}, "unknown", true},
		{"reconnected", []*AllocState{cs("unknown", at(1)), cs("running", at(2))}, "running", false},
		{"empty value ignored", []*AllocState{cs("unknown", at(1)), cs("", at(2))}, "unknown", true},
		{"nil entry ignored", []*AllocState{cs("unknown", at(1)), nil}, "unknown", true},
		{"other field ignored", []*AllocState{cs("unknown", at(1)), {Field: 7, Value: "running", Time: at(2)}}, "unknown", true},
		{"disconnect twice", []*AllocState{cs("unknown", at(1)), cs("running", at(2)), cs("unknown", at(3))}, "unknown", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &Allocation{AllocStates: tc.states}
			must.Eq(t, tc.want, a.LastClientStatus())
			must.Eq(t, tc.recon, a.NeedsToReconnect())
		})
	}
}

func TestAllocation_LastUnknown(t *testing.T) {
	cases := []struct {
		name   string
		states []*AllocState
		want   time.Time
	}{
		{"none", nil, time.Time{}},
		{"not unknown", []*AllocState{cs("running", at(0))}, time.Time{}},
		{"single", []*AllocState{cs("running", at(0)), cs("unknown", at(1))}, at(1)},
		{"first of final run", []*AllocState{cs("unknown", at(1)), cs("unknown", at(2)), cs("unknown", at(3))}, at(1)},
		{"final run after reconnect", []*AllocState{cs("unknown", at(1)), cs("running", at(2)), cs("unknown", at(5)), cs("unknown", at(6))}, at(5)},
		{"empty values inside run skipped", []*AllocState{cs("running", at(0)), cs("unknown", at(4)), cs("", at(5)), cs("unknown", at(6))}, at(4)},
		{"reconnected since", []*AllocState{cs("unknown", at(1)), cs("running", at(2))}, time.Time{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &Allocation{AllocStates: tc.states}
			must.Eq(t, tc.want, a.LastUnknown())
		})
	}
}

func TestAllocation_Expired(t *testing.T) {
	unknownAt1 := []*AllocState{cs("running", at(0)), cs("unknown", at(1))}
	cases := []struct {
		name      string
		status    string
		states    []*AllocState
		now       time.Time
		lostAfter time.Duration
		want      bool
	}{
		{"inside window", "unknown", unknownAt1, at(5), 5 * time.Minute, false},
		{"inclusive at bound", "unknown", unknownAt1, at(6), 5 * time.Minute, true},
		{"1ns before bound", "unknown", unknownAt1, at(6).Add(-time.Nanosecond), 5 * time.Minute, false},
		{"past bound", "unknown", unknownAt1, at(9), 5 * time.Minute, true},
		{"lostAfter zero expires at once", "unknown", unknownAt1, at(1), 0, true},
		{"running never expires", "running", unknownAt1, at(60), 5 * time.Minute, false},
		{"unknown without time", "unknown", nil, at(0), 5 * time.Minute, true},
		{"second disconnect measured from its own start", "unknown",
			[]*AllocState{cs("unknown", at(1)), cs("running", at(2)), cs("unknown", at(10))}, at(14), 5 * time.Minute, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := &Allocation{ClientStatus: tc.status, AllocStates: tc.states}
			must.Eq(t, tc.want, a.Expired(tc.now, tc.lostAfter))
		})
	}
}

func TestAllocation_AppendStateNeverGoesBackwards(t *testing.T) {
	a := &Allocation{}
	a.AppendState(AllocStateFieldClientStatus, "unknown", at(5))
	s := a.AppendState(AllocStateFieldClientStatus, "running", at(3)) // skewed earlier
	must.Eq(t, at(5), s.Time)
	s = a.AppendState(AllocStateFieldClientStatus, "unknown", at(7))
	must.Eq(t, at(7), s.Time)
	must.SliceLen(t, 3, a.AllocStates)
	must.Eq(t, "unknown", a.LastClientStatus())
}

func TestAllocation_TerminalStatuses(t *testing.T) {
	for _, s := range []string{"complete", "failed", "lost"} {
		must.True(t, ClientTerminalStatus(s), must.Sprint(s))
		must.True(t, (&Allocation{ClientStatus: s, DesiredStatus: "run"}).TerminalStatus())
	}
	for _, s := range []string{"pending", "running", "unknown", ""} {
		must.False(t, ClientTerminalStatus(s), must.Sprint(s))
	}
	must.True(t, ServerTerminalStatus("stop"))
	must.True(t, ServerTerminalStatus("evict"))
	must.False(t, ServerTerminalStatus("run"))
	a := &Allocation{ClientStatus: "running", DesiredStatus: "stop"}
	must.True(t, a.TerminalStatus())
	must.True(t, a.ServerTerminalStatus())
	must.False(t, a.ClientTerminalStatus())
	must.True(t, ServerOnlyClientStatus("unknown"))
	must.True(t, ServerOnlyClientStatus("lost"))
	must.False(t, ServerOnlyClientStatus("failed"))
	must.False(t, ValidClientStatus("runing"))
	must.True(t, ValidDesiredStatus("evict"))
	must.False(t, ValidDesiredStatus("running"))
}

func TestAllocation_CopyIsDeep(t *testing.T) {
	a := &Allocation{
		ID:                "a1",
		AllocStates:       []*AllocState{cs("unknown", at(1))},
		Metrics:           &AllocMetric{ScoreMetaData: []*NodeScoreMeta{{NodeID: "n1", NormScore: 0.5, Scores: map[string]float64{"x": 1}}}},
		TaskStates:        map[string]*TaskState{"web": {State: "running", StartedAt: at(0)}},
		RescheduleTracker: &RescheduleTracker{Events: []*RescheduleEvent{{RescheduleTime: 1}}},
	}
	c := a.Copy()
	must.Eq(t, a, c)
	c.AllocStates[0].Value = "running"
	c.Metrics.ScoreMetaData[0].NormScore = 0.9
	c.Metrics.ScoreMetaData[0].Scores["x"] = 2
	c.TaskStates["web"].State = "dead"
	c.RescheduleTracker.Events[0].RescheduleTime = 2
	must.Eq(t, "unknown", a.AllocStates[0].Value)
	must.Eq(t, 0.5, a.Metrics.ScoreMetaData[0].NormScore)
	must.Eq(t, 1.0, a.Metrics.ScoreMetaData[0].Scores["x"])
	must.Eq(t, "running", a.TaskStates["web"].State)
	must.Eq(t, int64(1), a.RescheduleTracker.Events[0].RescheduleTime)
	must.Nil(t, (*Allocation)(nil).Copy())
}

func TestAllocation_CopySkipStatesAppendDoesNotAlias(t *testing.T) {
	states := make([]*AllocState, 1, 4) // spare capacity is the trap
	states[0] = cs("running", at(0))
	a := &Allocation{AllocStates: states}
	c := a.CopySkipStates()
	c.AppendState(AllocStateFieldClientStatus, "unknown", at(1))
	must.SliceLen(t, 1, a.AllocStates)
	must.SliceLen(t, 2, c.AllocStates)
	must.Eq(t, "unknown", c.LastClientStatus())
	must.Eq(t, "running", a.LastClientStatus())
	must.Nil(t, states[:2][1]) // the original backing array was not written
}

func TestAllocMetric_MaxNormScore(t *testing.T) {
	_, ok := (*AllocMetric)(nil).MaxNormScore()
	must.False(t, ok)
	_, ok = (&AllocMetric{}).MaxNormScore()
	must.False(t, ok)
	m := &AllocMetric{ScoreMetaData: []*NodeScoreMeta{{NormScore: 0.2}, nil, {NormScore: 0.7}, {NormScore: 0.1}}}
	v, ok := m.MaxNormScore()
	must.True(t, ok)
	must.Eq(t, 0.7, v)
}

func TestAllocStateField_String(t *testing.T) {
	must.Eq(t, "ClientStatus", AllocStateFieldClientStatus.String())
	must.Eq(t, "AllocStateField(12)", AllocStateField(12).String())
}
