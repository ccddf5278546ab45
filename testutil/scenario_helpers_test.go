package testutil

import (
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// quietNet never drops: scenarios control faults through events only.
var quietNet = NetConfig{MinDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}

// serviceJob is job-00, a service job of count with the given disconnect
// block and a reschedule policy that never runs out.
func serviceJob(count int, d *structs.DisconnectStrategy) *structs.Job {
	return &structs.Job{ID: JobName(0), Name: JobName(0), Namespace: structs.DefaultNamespace,
		Type: structs.JobTypeService, Priority: 50,
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: count, Disconnect: d,
			ReschedulePolicy: &structs.ReschedulePolicy{Unlimited: true, Interval: time.Hour}}}}
}

// scenario is a 4-node cluster running job with the given events; the
// quiesce event comes at duration. The default placer puts a count-2 job
// on node-000 and node-001.
func scenario(job *structs.Job, duration time.Duration, events ...Event) SimConfig {
	events = append([]Event{{At: 10 * time.Second, Kind: EvRegisterJob, Job: 0}}, events...)
	events = append(events, Event{At: duration, Kind: EvQuiesce})
	SortEvents(events)
	return SimConfig{Seed: 7, Nodes: 4, Jobs: 1, Duration: duration, Quiesce: 10 * time.Minute,
		JobSpecs: []*structs.Job{job}, Events: events, Net: quietNet}
}

func partition(at, length time.Duration, nodes ...int) []Event {
	return []Event{{At: at, Kind: EvPartition, Nodes: nodes}, {At: at + length, Kind: EvHeal, Nodes: nodes}}
}

func lostAfter(d time.Duration, reconcile string) *structs.DisconnectStrategy {
	return &structs.DisconnectStrategy{LostAfter: d, Reconcile: reconcile}
}

// jobAllocs returns the allocs of plan's job in the store.
func otherAllocs(plan *structs.ApplyPlanResultsRequest, list func() []*structs.Allocation, keep func(*structs.Allocation) bool) []string {
	named := map[string]bool{}
	for _, id := range plan.AllocsReconnected {
		named[id] = true
	}
	for _, s := range plan.AllocsStopped {
		named[s.AllocID] = true
	}
	for _, d := range plan.AllocsDisconnected {
		named[d.AllocID] = true
	}
	var out []string
	for _, a := range list() {
		if !named[a.ID] && keep(a) {
			out = append(out, a.ID)
		}
	}
	return out
}
