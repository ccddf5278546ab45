package nomad

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestImportStore_HoldsTheFixture(t *testing.T) {
	im, err := ReadFile(fixturePath(".snap"))
	must.NoError(t, err)
	st, err := im.Store(hclog.NewNullLogger())
	must.NoError(t, err)
	must.Eq(t, uint64(1006), st.LatestIndex())

	nodes, err := st.Nodes(nil)
	must.NoError(t, err)
	must.Len(t, 3, nodes)
	must.Eq(t, structs.NodeStatusDisconnected, nodes[2].Status)

	job, err := st.JobByID(nil, "default", "example")
	must.NoError(t, err)
	must.NotNil(t, job)
	must.Eq(t, im.Jobs[0], job)

	allocs, err := st.AllocsByJob(nil, "default", "example")
	must.NoError(t, err)
	must.Len(t, 3, allocs)
	for i, a := range allocs {
		must.Eq(t, im.Allocs[i], a)
	}
	a3, err := st.AllocByID(nil, "a0000000-0000-4000-8000-000000000003")
	must.NoError(t, err)
	must.Eq(t, "00000000-0000-4000-8000-000000000003", a3.NodeID)

	// The import is not handed over: changing it leaves the store alone.
	im.Allocs[2].ClientStatus = "lost"
	a3, err = st.AllocByID(nil, "a0000000-0000-4000-8000-000000000003")
	must.NoError(t, err)
	must.Eq(t, structs.AllocClientStatusRunning, a3.ClientStatus)
}

func TestImportStore_DuplicateIDsRejected(t *testing.T) {
	im, err := ReadFile(fixturePath(".state.bin"))
	must.NoError(t, err)
	im.Nodes = append(im.Nodes, im.Nodes[0].Copy())
	st, err := im.Store(hclog.NewNullLogger())
	must.Nil(t, st)
	must.ErrorIs(t, err, structs.ErrInvalidRequest)
}
