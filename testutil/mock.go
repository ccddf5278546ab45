package testutil

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// mockSeq numbers mock objects so IDs are unique within a test binary. Mock
// IDs are for unit tests; simulations make their own seeded IDs.
var mockSeq atomic.Uint64

func nextMockID(prefix string) string {
	return fmt.Sprintf("%s-%04d", prefix, mockSeq.Add(1))
}

// MockEpoch is the time mocks stamp on what they create.
var MockEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Node returns a ready, eligible node with a fresh ID and secret; opts
// change it before it is returned.
func Node(opts ...func(*structs.Node)) *structs.Node {
	id := nextMockID("node")
	n := &structs.Node{
		ID:                    id,
		SecretID:              "secret-" + id,
		Name:                  id,
		Datacenter:            "dc1",
		NodePool:              "default",
		Status:                structs.NodeStatusReady,
		SchedulingEligibility: structs.NodeSchedulingEligible,
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

// Job returns a service job "web-N" with one task group "web" of count 3,
// disconnect support of 5 minutes and the default reschedule policy.
func Job(opts ...func(*structs.Job)) *structs.Job {
	j := &structs.Job{
		ID:          nextMockID("web"),
		Namespace:   structs.DefaultNamespace,
		Type:        structs.JobTypeService,
		Priority:    50,
		Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name:       "web",
			Count:      3,
			Disconnect: &structs.DisconnectStrategy{LostAfter: 5 * time.Minute},
		}},
	}
	j.Name = j.ID
	for _, o := range opts {
		o(j)
	}
	return j
}

// WithCount sets the count of every task group.
func WithCount(n int) func(*structs.Job) {
	return func(j *structs.Job) {
		for _, tg := range j.TaskGroups {
			tg.Count = n
		}
	}
}

// WithDisconnect sets the disconnect block of every task group (nil removes it).
func WithDisconnect(d *structs.DisconnectStrategy) func(*structs.Job) {
	return func(j *structs.Job) {
		for _, tg := range j.TaskGroups {
			tg.Disconnect = d.Copy()
		}
	}
}

// Alloc returns a running allocation of job's first task group, index 0, on
// node "" (set NodeID with an option), DesiredStatus run, with a
// ClientStatus AllocState at MockEpoch.
func Alloc(job *structs.Job, opts ...func(*structs.Allocation)) *structs.Allocation {
	tg := job.TaskGroups[0].Name
	a := &structs.Allocation{
		ID:            nextMockID("alloc"),
		Namespace:     job.NamespacedID().Namespace,
		Name:          AllocName(job.ID, tg, 0),
		JobID:         job.ID,
		JobVersion:    job.Version,
		TaskGroup:     tg,
		DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus:  structs.AllocClientStatusRunning,
		AllocStates: []*structs.AllocState{{
			Field: structs.AllocStateFieldClientStatus, Value: structs.AllocClientStatusRunning, Time: MockEpoch,
		}},
		TaskStates: map[string]*structs.TaskState{
			"task": {State: "running", StartedAt: MockEpoch},
		},
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// OnNode puts an allocation on node.
func OnNode(node *structs.Node) func(*structs.Allocation) {
	return func(a *structs.Allocation) { a.NodeID = node.ID }
}

// WithIndex sets the allocation's name index.
func WithIndex(i int) func(*structs.Allocation) {
	return func(a *structs.Allocation) { a.Name = AllocName(a.JobID, a.TaskGroup, i) }
}

// Unknown marks an allocation unknown since t, as a disconnect does.
func Unknown(t time.Time) func(*structs.Allocation) {
	return func(a *structs.Allocation) {
		a.ClientStatus = structs.AllocClientStatusUnknown
		a.AppendState(structs.AllocStateFieldClientStatus, structs.AllocClientStatusUnknown, t)
	}
}

// AllocName is the name the reconciler gives slot i of a group.
func AllocName(jobID, group string, i int) string {
	return fmt.Sprintf("%s.%s[%d]", jobID, group, i)
}
