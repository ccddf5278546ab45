package reconcile

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/shoenig/test/must"
)

// Compute is a pure function: the same input gives byte-identical JSON, the
// order of Allocs does not matter, and the input is never modified.
func TestCompute_DeterministicAndPure(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.json"))
	must.NoError(t, err)
	inputs := []Input{bigInput()}
	for _, f := range files {
		s, err := LoadScenario(f)
		must.NoError(t, err)
		inputs = append(inputs, s.Input)
	}
	for _, in := range inputs {
		before := snapshot(t, in)
		first := mustJSON(t, Compute(in))
		must.Eq(t, string(first), string(mustJSON(t, Compute(in))))
		must.Eq(t, before, snapshot(t, in), must.Sprint("Compute modified its input"))

		rev := in
		rev.Allocs = slices.Clone(in.Allocs)
		slices.Reverse(rev.Allocs)
		must.Eq(t, string(first), string(mustJSON(t, Compute(rev))), must.Sprintf("job %s: alloc order changed the result", in.Job.ID))
	}
}

// snapshot captures everything Compute can see, deeply.
func snapshot(t *testing.T, in Input) string {
	t.Helper()
	copies := make([]*structs.Allocation, len(in.Allocs))
	for i, a := range in.Allocs {
		copies[i] = a.Copy()
	}
	return string(mustJSON(t, struct {
		Job    *structs.Job
		Allocs []*structs.Allocation
		Nodes  map[string]*structs.Node
	}{in.Job, copies, in.Nodes}))
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must.NoError(t, err)
	return b
}

func TestCompute_EveryListNonNil(t *testing.T) {
	for _, in := range []Input{{}, {Job: mockJob(0)}} {
		b := string(mustJSON(t, Compute(in)))
		must.Eq(t, `{"Place":[],"Stop":[],"Disconnect":[],"Reconnect":[],"Update":[],"FollowUps":[]}`, b)
	}
}
