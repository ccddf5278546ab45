package structs

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func dur(d time.Duration) *time.Duration { return &d }
func boolp(b bool) *bool                 { return &b }

func TestTaskGroup_DisconnectAccessors(t *testing.T) {
	cases := []struct {
		name      string
		tg        *TaskGroup
		lostAfter time.Duration
		replace   bool
		reconcile string
	}{
		{"nil group", nil, 0, true, ReconcileOptionBestScore},
		{"no disconnect block", &TaskGroup{}, 0, true, ReconcileOptionBestScore},
		{"legacy max_client_disconnect", &TaskGroup{MaxClientDisconnect: dur(time.Minute)}, time.Minute, true, ReconcileOptionBestScore},
		{"block wins over legacy", &TaskGroup{MaxClientDisconnect: dur(time.Minute), Disconnect: &DisconnectStrategy{LostAfter: 2 * time.Minute}}, 2 * time.Minute, true, ReconcileOptionBestScore},
		{"replace nil is true", &TaskGroup{Disconnect: &DisconnectStrategy{LostAfter: time.Second}}, time.Second, true, ReconcileOptionBestScore},
		{"replace false", &TaskGroup{Disconnect: &DisconnectStrategy{Replace: boolp(false), Reconcile: ReconcileOptionKeepOriginal}}, 0, false, ReconcileOptionKeepOriginal},
		{"legacy prevent reschedule", &TaskGroup{PreventRescheduleOnLost: true}, 0, false, ReconcileOptionBestScore},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			must.Eq(t, tc.lostAfter, tc.tg.LostAfter())
			must.Eq(t, tc.replace, tc.tg.Replace())
			must.Eq(t, tc.reconcile, tc.tg.ReconcileStrategy())
		})
	}
}

func TestTaskGroup_StopOnClientAfterAndReschedulePolicy(t *testing.T) {
	must.Nil(t, (&TaskGroup{}).StopOnClientAfter())
	must.Eq(t, time.Minute, *(&TaskGroup{StopAfterClientDisconnect: dur(time.Minute)}).StopOnClientAfter())
	must.Eq(t, time.Second, *(&TaskGroup{Disconnect: &DisconnectStrategy{StopOnClientAfter: dur(time.Second)}}).StopOnClientAfter())

	def := (&TaskGroup{}).EffectiveReschedulePolicy()
	must.Eq(t, ReschedulePolicy{Attempts: 2, Interval: time.Hour}, def)
	own := (&TaskGroup{ReschedulePolicy: &ReschedulePolicy{Attempts: 5, Unlimited: true}}).EffectiveReschedulePolicy()
	must.Eq(t, 5, own.Attempts)
	must.True(t, own.Unlimited)
}

func TestDisconnectStrategy_Validate(t *testing.T) {
	must.NoError(t, (*DisconnectStrategy)(nil).Validate())
	must.NoError(t, (&DisconnectStrategy{LostAfter: time.Minute, Reconcile: ReconcileOptionLongestRunning}).Validate())
	must.NoError(t, (&DisconnectStrategy{StopOnClientAfter: dur(time.Minute)}).Validate())
	bad := []*DisconnectStrategy{
		{LostAfter: time.Minute, StopOnClientAfter: dur(time.Minute)},
		{LostAfter: -time.Second},
		{StopOnClientAfter: dur(-time.Second)},
		{Reconcile: "newest"},
	}
	for _, d := range bad {
		err := d.Validate()
		must.ErrorIs(t, err, ErrInvalidJob, must.Sprintf("%+v", d))
	}
	err := (&DisconnectStrategy{LostAfter: -1, Reconcile: "x"}).Validate()
	must.StrContains(t, err.Error(), "negative")
	must.StrContains(t, err.Error(), `"x"`)
}

func validJob() *Job {
	return &Job{ID: "web", Type: JobTypeService, TaskGroups: []*TaskGroup{{
		Name: "web", Count: 3,
		Disconnect:       &DisconnectStrategy{LostAfter: 5 * time.Minute, Replace: boolp(true)},
		ReschedulePolicy: &ReschedulePolicy{Attempts: 2, Interval: 10 * time.Minute},
	}}}
}

func TestJob_Validate(t *testing.T) {
	must.NoError(t, validJob().Validate())
	cases := map[string]func(j *Job){
		"no id":           func(j *Job) { j.ID = "" },
		"bad type":        func(j *Job) { j.Type = "cron" },
		"nil group":       func(j *Job) { j.TaskGroups = append(j.TaskGroups, nil) },
		"duplicate group": func(j *Job) { j.TaskGroups = append(j.TaskGroups, j.TaskGroups[0].Copy()) },
		"unnamed group":   func(j *Job) { j.TaskGroups[0].Name = "" },
		"negative count":  func(j *Job) { j.TaskGroups[0].Count = -1 },
		"negative legacy": func(j *Job) { j.TaskGroups[0].MaxClientDisconnect = dur(-time.Second) },
		"bad disconnect":  func(j *Job) { j.TaskGroups[0].Disconnect.Reconcile = "?" },
		"bad reschedule":  func(j *Job) { j.TaskGroups[0].ReschedulePolicy.Delay = -time.Second },
		"both windows":    func(j *Job) { j.TaskGroups[0].Disconnect.StopOnClientAfter = dur(time.Second) },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			j := validJob()
			mutate(j)
			must.ErrorIs(t, j.Validate(), ErrInvalidJob)
		})
	}
	must.ErrorIs(t, (*Job)(nil).Validate(), ErrInvalidJob)
}

func TestJob_CopyIsDeepAndLookups(t *testing.T) {
	j := validJob()
	j.TaskGroups[0].MaxClientDisconnect = dur(time.Minute)
	c := j.Copy()
	must.Eq(t, j, c)
	*c.TaskGroups[0].Disconnect.Replace = false
	*c.TaskGroups[0].MaxClientDisconnect = time.Hour
	c.TaskGroups[0].ReschedulePolicy.Attempts = 9
	must.True(t, *j.TaskGroups[0].Disconnect.Replace)
	must.Eq(t, time.Minute, *j.TaskGroups[0].MaxClientDisconnect)
	must.Eq(t, 2, j.TaskGroups[0].ReschedulePolicy.Attempts)

	must.NotNil(t, j.LookupTaskGroup("web"))
	must.Nil(t, j.LookupTaskGroup("api"))
	must.Eq(t, NamespacedID{Namespace: "default", ID: "web"}, j.NamespacedID())
	must.Eq(t, "default/web", j.NamespacedID().String())
}
