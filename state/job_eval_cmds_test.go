package state

import (
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestJobRegister(t *testing.T) {
	s := testStore(t)
	j := mockJob("job1")
	j.Version = 3
	first, _ := apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: j, Eval: mockEval("e1", structs.EvalTriggerJobRegister)})
	got, err := s.JobByID(nil, "", "job1")
	must.NoError(t, err)
	must.Eq(t, structs.DefaultNamespace, got.Namespace)
	must.Eq(t, 3, got.Version) // a new job keeps its version
	must.Eq(t, first, got.CreateIndex)
	must.Eq(t, first, got.JobModifyIndex)
	must.Eq(t, first, eval(t, s, "e1").CreateIndex)

	j2 := mockJob("job1")
	j2.Namespace, j2.Priority = structs.DefaultNamespace, 90
	second, _ := apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: j2})
	got, err = s.JobByID(nil, structs.DefaultNamespace, "job1")
	must.NoError(t, err)
	must.Eq(t, 4, got.Version)
	must.Eq(t, 90, got.Priority)
	must.Eq(t, first, got.CreateIndex)
	must.Eq(t, second, got.ModifyIndex)
	must.Eq(t, second, got.JobModifyIndex)
	must.Eq(t, second, s.Index(TableJobs))
	must.Eq(t, first, s.Index(TableEvals)) // no eval in the second write

	other := mockJob("job1")
	other.Namespace = "other"
	apply(t, s, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: other})
	jobs, err := s.Jobs(nil)
	must.NoError(t, err)
	must.SliceLen(t, 2, jobs)
	must.Eq(t, structs.DefaultNamespace, jobs[0].Namespace)
	must.Eq(t, "other", jobs[1].Namespace)
}

func TestJobDeregister(t *testing.T) {
	cases := []struct {
		name  string
		purge bool
	}{{"stop", false}, {"purge", true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := seeded(t)
			before, err := s.JobByID(nil, "", "job1")
			must.NoError(t, err)
			idx, _ := apply(t, s, structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
				JobID: "job1", Purge: tc.purge, Eval: mockEval("e1", structs.EvalTriggerJobDeregister)})
			got, err := s.JobByID(nil, "", "job1")
			must.NoError(t, err)
			if tc.purge {
				must.Nil(t, got)
			} else {
				must.True(t, got.Stop)
				must.Eq(t, before.Version+1, got.Version)
				must.Eq(t, before.CreateIndex, got.CreateIndex)
				must.Eq(t, idx, got.ModifyIndex)
				must.False(t, before.Stop) // the stored original was not mutated
			}
			must.Eq(t, idx, s.Index(TableJobs))
			must.Eq(t, idx, eval(t, s, "e1").ModifyIndex)
		})
	}
}

func TestEvalUpdate(t *testing.T) {
	s := seeded(t)
	created := eval(t, s, "eval0").CreateIndex
	e := mockEval("eval0", structs.EvalTriggerJobRegister)
	e.Status, e.CreateIndex = structs.EvalStatusComplete, 1000
	idx, _ := apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{e, mockEval("e2", "x")}})
	got := eval(t, s, "eval0")
	must.Eq(t, structs.EvalStatusComplete, got.Status)
	must.Eq(t, created, got.CreateIndex)
	must.Eq(t, idx, got.ModifyIndex)
	must.Eq(t, idx, eval(t, s, "e2").CreateIndex)
	byJob, err := s.EvalsByJob(nil, "", "job1")
	must.NoError(t, err)
	must.SliceLen(t, 2, byJob)
	must.Eq(t, "e2", byJob[0].ID)
	must.Eq(t, "eval0", byJob[1].ID)
}
