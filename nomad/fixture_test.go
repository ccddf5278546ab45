package nomad

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

const fixtureBase = "f1-01-disconnect-lost-after-default-replace"

func fixturePath(ext string) string { return filepath.Join("testdata", fixtureBase+ext) }

// checkFixture asserts the exact contents README.md describes for the real
// Nomad v1.9.7 fixture.
func checkFixture(t *testing.T, im *Import) {
	t.Helper()
	must.Len(t, 3, im.Nodes)
	statuses := map[string]string{}
	for _, n := range im.Nodes {
		statuses[n.Name] = n.Status
	}
	must.Eq(t, map[string]string{"n1": "ready", "n2": "ready", "n3": "disconnected"}, statuses)
	must.Eq(t, "00000000-0000-4000-8000-000000000003", im.Nodes[2].ID)

	must.Len(t, 1, im.Jobs)
	j := im.Jobs[0]
	must.Eq(t, "example", j.ID)
	must.Eq(t, "default", j.Namespace)
	must.Eq(t, structs.JobTypeService, j.Type)
	must.Eq(t, uint64(0), j.Version)
	must.Len(t, 1, j.TaskGroups)
	tg := j.TaskGroups[0]
	must.Eq(t, "web", tg.Name)
	must.Eq(t, 3, tg.Count)
	must.NotNil(t, tg.Disconnect)
	must.Eq(t, 5*time.Minute, tg.Disconnect.LostAfter)
	must.NotNil(t, tg.Disconnect.Replace)
	must.True(t, *tg.Disconnect.Replace)
	must.Eq(t, structs.ReconcileOptionBestScore, tg.Disconnect.Reconcile)
	must.Nil(t, tg.Disconnect.StopOnClientAfter)
	must.NotNil(t, tg.ReschedulePolicy)
	must.Eq(t, 2, tg.ReschedulePolicy.Attempts)
	must.Eq(t, 10*time.Minute, tg.ReschedulePolicy.Interval)
	must.Eq(t, 5*time.Second, tg.ReschedulePolicy.Delay)

	must.Len(t, 3, im.Allocs)
	for i, a := range im.Allocs {
		must.Eq(t, structs.AllocClientStatusRunning, a.ClientStatus)
		must.Eq(t, structs.AllocDesiredStatusRun, a.DesiredStatus)
		must.Eq(t, "example", a.JobID)
		must.Eq(t, "web", a.TaskGroup)
		must.Eq(t, uint64(0), a.JobVersion)
		must.Eq(t, "example.web["+string(rune('0'+i))+"]", a.Name)
		must.NotNil(t, a.Metrics)
		must.Len(t, 1, a.Metrics.ScoreMetaData)
	}
	a3 := im.Allocs[2]
	must.Eq(t, "a0000000-0000-4000-8000-000000000003", a3.ID)
	must.Eq(t, "00000000-0000-4000-8000-000000000003", a3.NodeID)

	must.Len(t, 1, im.Evals)
	must.Eq(t, structs.EvalTriggerNodeUpdate, im.Evals[0].TriggeredBy)
	must.Eq(t, int64(1795305596800340728), im.Evals[0].CreateTime)

	must.Eq(t, uint64(1006), im.Index)
	must.Eq(t, 22, im.Records)
	// 2 NodePool, 1 JobSummary, 1 JobVersion, 1 Namespace.
	must.Eq(t, map[uint8]int{28: 2, 7: 1, 9: 1, 64: 1}, im.Skipped)
	must.SliceEmpty(t, im.Notes)
}

func TestReadStateBin_RealFixture(t *testing.T) {
	b, err := os.ReadFile(fixturePath(".state.bin"))
	must.NoError(t, err)
	im, err := ReadStateBin(bytes.NewReader(b))
	must.NoError(t, err)
	checkFixture(t, im)
	must.Nil(t, im.Meta)
}

func TestReadArchive_RealFixture(t *testing.T) {
	im, err := ReadFile(fixturePath(".snap"))
	must.NoError(t, err)
	checkFixture(t, im)
	must.NotNil(t, im.Meta)
	must.Eq(t, uint64(2000), im.Meta.Index)
	must.Eq(t, uint64(2), im.Meta.Term)
	must.Eq(t, "2-2000-1795306457910", im.Meta.ID)
}

func TestReadFile_DetectsBareStateBin(t *testing.T) {
	im, err := ReadFile(fixturePath(".state.bin"))
	must.NoError(t, err)
	checkFixture(t, im)
	must.Nil(t, im.Meta)
}

func TestReadStateBin_ProgressReachesEnd(t *testing.T) {
	b, err := os.ReadFile(fixturePath(".state.bin"))
	must.NoError(t, err)
	var last Progress
	calls := 0
	rd := &Reader{Progress: func(p Progress) { last = p; calls++ }}
	_, err = rd.ReadStateBin(bytes.NewReader(b))
	must.NoError(t, err)
	must.Eq(t, 1, calls)
	must.Eq(t, Progress{Records: 22, Offset: int64(len(b)), Total: int64(len(b))}, last)
}
