package reconcile

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

// base is a valid scenario with one alloc; tests replace parts of it.
const base = `{
  "Name": "t", "Now": "2026-01-01T00:10:00Z", "Unknown": {"ignored": true},
  "Job": {"ID": "web", "Type": "service", "TaskGroups": [{"Name": "web", "Count": 1,
          "Disconnect": {"LostAfter": "5m"}}]},
  "Nodes": [{"ID": "n1", "Status": "ready"}],
  "Allocs": [{"ID": "a1", "Name": "web.web[0]", "NodeID": "n1", "TaskGroup": "web",
              "DesiredStatus": "run", "ClientStatus": "running", "Extra": 1}]
}`

func decode(t *testing.T, s string) (*Scenario, error) {
	t.Helper()
	return DecodeScenario(strings.NewReader(s))
}

func TestDecodeScenario_Valid(t *testing.T) {
	s, err := decode(t, base)
	must.NoError(t, err)
	must.Eq(t, time.Date(2026, 1, 1, 0, 10, 0, 0, time.UTC), s.Input.Now)
	must.Eq(t, 5*time.Minute, s.Input.Job.TaskGroups[0].LostAfter())
	must.True(t, s.Input.Job.TaskGroups[0].Replace(), must.Sprint("absent Replace means true"))
	must.Nil(t, s.Expect)
	must.MapContainsKey(t, s.Input.Nodes, "n1")
}

func TestDecodeScenario_Formats(t *testing.T) {
	in := strings.Replace(base, `"Disconnect": {"LostAfter": "5m"}`,
		`"Disconnect": {"LostAfter": 120000000000, "Replace": null, "Reconcile": "longest_running"},
		 "ReschedulePolicy": {"Attempts": 3, "Interval": "10m", "Delay": 30000000000}`, 1)
	in = strings.Replace(in, `"Extra": 1`, `"AllocStates": [{"Field": 0, "Value": "unknown", "Time": "2026-01-01T00:08:00+01:00"},
		{"Field": "ClientStatus", "Value": "running", "Time": "2026-01-01T00:09:00Z"}],
		"TaskStates": {"web": {"StartedAt": "2026-01-01T00:00:05Z", "Restarts": 1, "LastRestart": null, "FinishedAt": null}},
		"RescheduleTracker": {"Events": [{"RescheduleTime": "2026-01-01T00:00:00Z"}, {"RescheduleTime": 1767225600000000000}]},
		"Metrics": {"ScoreMetaData": [{"NodeID": "n1", "NormScore": 0.8}]}`, 1)
	s, err := decode(t, in)
	must.NoError(t, err)
	tg := s.Input.Job.TaskGroups[0]
	must.Eq(t, 2*time.Minute, tg.LostAfter())
	must.True(t, tg.Replace())
	must.Eq(t, structs.ReconcileOptionLongestRunning, tg.ReconcileStrategy())
	must.Eq(t, structs.ReschedulePolicy{Attempts: 3, Interval: 10 * time.Minute, Delay: 30 * time.Second}, *tg.ReschedulePolicy)
	a := s.Input.Allocs[0]
	must.Len(t, 2, a.AllocStates)
	must.Eq(t, time.Date(2025, 12, 31, 23, 8, 0, 0, time.UTC), a.AllocStates[0].Time, must.Sprint("times are converted to UTC"))
	must.Eq(t, "running", a.LastClientStatus())
	must.True(t, a.TaskStates["web"].LastRestart.IsZero())
	must.Eq(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), a.RescheduleTracker.Events[0].RescheduleTime)
	must.Eq(t, int64(1767225600000000000), a.RescheduleTracker.Events[1].RescheduleTime)
	score, ok := a.Metrics.MaxNormScore()
	must.True(t, ok)
	must.Eq(t, 0.8, score)
}

func TestDecodeScenario_LegacyMaxClientDisconnect(t *testing.T) {
	s, err := decode(t, strings.Replace(base, `"Disconnect": {"LostAfter": "5m"}`, `"MaxClientDisconnect": "90s"`, 1))
	must.NoError(t, err)
	must.Eq(t, 90*time.Second, s.Input.Job.TaskGroups[0].LostAfter())
}

func TestDecodeScenario_Errors(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"bad json", `"Name": "t",`, `"Name": "t"`, "bad JSON"},
		{"alloc client status", `"ClientStatus": "running"`, `"ClientStatus": "runing"`, `Allocs[0].ClientStatus: unknown status "runing"`},
		{"alloc desired status", `"DesiredStatus": "run"`, `"DesiredStatus": "go"`, `Allocs[0].DesiredStatus: unknown status "go"`},
		{"node status", `"Status": "ready"`, `"Status": "up"`, `Nodes[0].Status: unknown status "up"`},
		{"alloc state value", `"Extra": 1`, `"AllocStates": [{"Field": "ClientStatus", "Value": "gone", "Time": "2026-01-01T00:00:00Z"}]`, `Allocs[0].AllocStates[0].Value: unknown status "gone"`},
		{"alloc state field", `"Extra": 1`, `"AllocStates": [{"Field": 3, "Value": "unknown"}]`, `Allocs[0].AllocStates[0].Field`},
		{"missing group", `"TaskGroup": "web"`, `"TaskGroup": "api"`, `Allocs[0].TaskGroup: job "web" has no task group "api"`},
		{"negative duration", `"LostAfter": "5m"`, `"LostAfter": "-5m"`, `Job.TaskGroups[0].Disconnect.LostAfter: negative duration -5m0s`},
		{"negative ns duration", `"LostAfter": "5m"`, `"LostAfter": -1`, `Job.TaskGroups[0].Disconnect.LostAfter: negative duration`},
		{"bad duration", `"LostAfter": "5m"`, `"LostAfter": "5 minutes"`, `Job.TaskGroups[0].Disconnect.LostAfter: bad duration`},
		{"both windows", `"LostAfter": "5m"`, `"LostAfter": "5m", "StopOnClientAfter": "1m"`, `Job.TaskGroups[0].Disconnect: LostAfter and StopOnClientAfter cannot both be set`},
		{"bad strategy", `"LostAfter": "5m"`, `"LostAfter": "5m", "Reconcile": "coin_flip"`, `Job.TaskGroups[0].Disconnect.Reconcile: unknown strategy "coin_flip"`},
		{"bad time", `"Now": "2026-01-01T00:10:00Z"`, `"Now": "yesterday"`, `Now: bad time "yesterday"`},
		{"missing now", `"Now": "2026-01-01T00:10:00Z"`, `"Now": null`, `Now: missing`},
		{"job type", `"Type": "service"`, `"Type": "cron"`, `Job.Type: unknown job type "cron"`},
		{"wrong json type", `"Count": 1`, `"Count": "one"`, `Job.TaskGroups.Count: cannot use JSON string as int`},
		{"negative count", `"Count": 1`, `"Count": -1`, `Job.TaskGroups[0].Count: negative count -1`},
		{"duplicate alloc", `"Extra": 1}]`, `"Extra": 1}, {"ID": "a1", "TaskGroup": "web", "DesiredStatus": "run", "ClientStatus": "running"}]`, `Allocs[1].ID: duplicate alloc ID "a1"`},
		{"bad expect stop", `"Extra": 1}]`, `"Extra": 1}], "Expect": {"Stop": [{"AllocID": "a1", "ClientStatus": "running"}]}`, `Expect.Stop[0].ClientStatus`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Replace(base, tc.from, tc.to, 1)
			must.NotEq(t, base, in)
			s, err := decode(t, in)
			must.Nil(t, s)
			must.Error(t, err)
			must.StrContains(t, err.Error(), tc.want)
			must.False(t, strings.Contains(err.Error(), "\n"), must.Sprint("error must be one line"))
			must.True(t, errors.Is(err, structs.ErrInvalidRequest))
			var se *ScenarioError
			must.True(t, errors.As(err, &se))
		})
	}
}

func TestEqual_Semantics(t *testing.T) {
	when := time.Date(2026, 1, 1, 0, 15, 0, 0, time.UTC)
	want := &Results{
		Place:     []Placement{{Name: "w[0]", TaskGroup: "w", PreviousAllocation: "a"}, {Name: "w[0]", TaskGroup: "w", PreviousAllocation: "a"}},
		Stop:      []Stop{{AllocID: "a", ClientStatus: "lost"}},
		Reconnect: []AllocDecision{{AllocID: "b"}},
		FollowUps: []FollowUp{{TriggeredBy: "max-disconnect-timeout", WaitUntil: when}},
	}
	got := &Results{
		Place: []Placement{{Name: "w[0]", TaskGroup: "w", PreviousAllocation: "a", NodeID: "n9", Reason: "x"},
			{Name: "w[0]", TaskGroup: "w", PreviousAllocation: "a", Reason: "y"}},
		Stop:      []Stop{{AllocID: "a", ClientStatus: "lost", Description: "other", Reason: "r"}, {AllocID: "a", ClientStatus: "lost"}},
		Reconnect: []AllocDecision{{AllocID: "b", Reason: "z"}, {AllocID: "b"}},
		FollowUps: []FollowUp{{TriggeredBy: "max-disconnect-timeout", WaitUntil: when.In(time.FixedZone("x", 3600)), AllocIDs: []string{"q"}}},
	}
	must.True(t, Equal(want, got), must.Sprint(Diff(want, got)))

	// Place and FollowUps are multisets: one copy fewer is a difference.
	got.Place = got.Place[:1]
	must.Eq(t, `Place missing {Name:w[0] TaskGroup:w PreviousAllocation:"a"}`, Diff(want, got))
	got.Place = want.Place
	got.Stop = []Stop{{AllocID: "a"}}
	must.Eq(t, `Stop missing {AllocID:a ClientStatus:"lost"}; Stop unexpected {AllocID:a ClientStatus:""}`, Diff(want, got))
}
