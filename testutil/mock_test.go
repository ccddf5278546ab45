package testutil

import (
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestMocks(t *testing.T) {
	n1, n2 := Node(), Node(func(n *structs.Node) { n.Status = structs.NodeStatusDown })
	must.NotEq(t, n1.ID, n2.ID)
	must.True(t, n1.Eligible())
	must.Eq(t, structs.NodeStatusDown, n2.Status)

	job := Job(WithCount(5), WithDisconnect(&structs.DisconnectStrategy{LostAfter: time.Minute}))
	must.NoError(t, job.Validate())
	must.Eq(t, 5, job.TaskGroups[0].Count)
	must.Eq(t, time.Minute, job.TaskGroups[0].LostAfter())

	a := Alloc(job, OnNode(n1), WithIndex(3), Unknown(MockEpoch.Add(time.Minute)))
	must.Eq(t, n1.ID, a.NodeID)
	must.Eq(t, job.ID+".web[3]", a.Name)
	must.True(t, a.NeedsToReconnect())
	must.Eq(t, MockEpoch.Add(time.Minute), a.LastUnknown())
	must.NotEq(t, a.ID, Alloc(job).ID)
}
