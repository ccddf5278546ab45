package state

import (
	"testing"

	"github.com/hashicorp/go-memdb"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func evalIDs(evals []*structs.Evaluation) []string {
	out := make([]string, len(evals))
	for i, e := range evals {
		out[i] = e.ID
	}
	return out
}

func TestEvalsByStatus(t *testing.T) {
	s := testStore(t)
	e := func(id, status string) *structs.Evaluation {
		ev := mockEval(id, structs.EvalTriggerNodeUpdate)
		ev.Status = status
		return ev
	}
	apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{
		e("p2", structs.EvalStatusPending), e("b1", structs.EvalStatusBlocked), e("p1", structs.EvalStatusPending),
		e("c1", structs.EvalStatusComplete), e("x", ""),
	}})

	got, err := s.EvalsByStatus(nil, structs.EvalStatusPending)
	must.NoError(t, err)
	must.Eq(t, []string{"p1", "p2"}, evalIDs(got)) // ID order, like Evals
	got, err = s.Snapshot().EvalsByStatus(nil, structs.EvalStatusBlocked)
	must.NoError(t, err)
	must.Eq(t, []string{"b1"}, evalIDs(got))
	got, err = s.EvalsByStatus(nil, "")
	must.NoError(t, err)
	must.SliceEmpty(t, got) // an eval without a status is stored but not indexed
	all, err := s.Evals(nil)
	must.NoError(t, err)
	must.Len(t, 5, all)

	// A status change moves the eval between the sets.
	apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{
		e("p1", structs.EvalStatusComplete), e("b1", structs.EvalStatusPending)}})
	got, err = s.EvalsByStatus(nil, structs.EvalStatusPending)
	must.NoError(t, err)
	must.Eq(t, []string{"b1", "p2"}, evalIDs(got))
	got, err = s.EvalsByStatus(nil, structs.EvalStatusBlocked)
	must.NoError(t, err)
	must.SliceEmpty(t, got)
	got, err = s.EvalsByStatus(nil, structs.EvalStatusComplete)
	must.NoError(t, err)
	must.Eq(t, []string{"c1", "p1"}, evalIDs(got))
}

// A watch on a status set fires when an evaluation joins it.
func TestEvalsByStatus_Watch(t *testing.T) {
	s := testStore(t)
	ws := memdb.NewWatchSet()
	got, err := s.EvalsByStatus(ws, structs.EvalStatusBlocked)
	must.NoError(t, err)
	must.SliceEmpty(t, got)
	b := mockEval("b1", structs.EvalTriggerQueuedAllocs)
	b.Status = structs.EvalStatusBlocked
	apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{b}})
	fired := false
	for ch := range ws {
		select {
		case <-ch:
			fired = true
		default:
		}
	}
	must.True(t, fired)
}

// EvalsByStatusSince lists what was written at or after an index, oldest
// write first, and nothing of another status.
func TestEvalsByStatusSince(t *testing.T) {
	s := testStore(t)
	e := func(id, status string) *structs.Evaluation {
		ev := mockEval(id, structs.EvalTriggerNodeUpdate)
		ev.Status = status
		return ev
	}
	i1, _ := apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{
		e("z", structs.EvalStatusPending), e("y", structs.EvalStatusPending), e("c", structs.EvalStatusComplete)}})
	i2, _ := apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{
		e("a", structs.EvalStatusPending), e("b", structs.EvalStatusBlocked)}})
	i3, _ := apply(t, s, structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{
		e("z", structs.EvalStatusPending)}}) // rewritten: moves to the end

	got, err := s.EvalsByStatusSince(nil, structs.EvalStatusPending, 0)
	must.NoError(t, err)
	must.Eq(t, []string{"y", "a", "z"}, evalIDs(got))
	got, err = s.EvalsByStatusSince(nil, structs.EvalStatusPending, i1+1)
	must.NoError(t, err)
	must.Eq(t, []string{"a", "z"}, evalIDs(got))
	got, err = s.Snapshot().EvalsByStatusSince(nil, structs.EvalStatusPending, i2+1)
	must.NoError(t, err)
	must.Eq(t, []string{"z"}, evalIDs(got))
	got, err = s.EvalsByStatusSince(nil, structs.EvalStatusPending, i3+1)
	must.NoError(t, err)
	must.SliceEmpty(t, got)
	got, err = s.EvalsByStatusSince(nil, structs.EvalStatusComplete, i1)
	must.NoError(t, err)
	must.Eq(t, []string{"c"}, evalIDs(got))
	got, err = s.EvalsByStatusSince(nil, structs.EvalStatusComplete, i1+1)
	must.NoError(t, err)
	must.SliceEmpty(t, got)
	got, err = s.EvalsByStatusSince(nil, "", 0)
	must.NoError(t, err)
	must.SliceEmpty(t, got)
}
