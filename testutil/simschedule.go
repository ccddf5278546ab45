package testutil

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// EventKind names what a scheduled simulation event does.
type EventKind string

// Event kinds.
const (
	EvRegisterJob EventKind = "register-job"
	EvUpdateJob   EventKind = "update-job"
	EvStopJob     EventKind = "stop-job"
	EvPartition   EventKind = "partition"
	EvHeal        EventKind = "heal"
	EvCrash       EventKind = "crash"
	EvRestart     EventKind = "restart"
	EvLeaderLoss  EventKind = "leader-loss"
	EvLeaderGain  EventKind = "leader-gain"
	// EvQuiesce heals every link, restarts every crashed client with its
	// state, regains leadership and stops the clients' own failures: from
	// here on the cluster must converge.
	EvQuiesce EventKind = "quiesce"
)

// Event is one scheduled fault or operator action, At after the start.
type Event struct {
	At        time.Duration
	Kind      EventKind
	Nodes     []int // node indexes (partition, heal, crash, restart)
	Job       int   // job index (job events)
	WithState bool  // restart keeps the client's local state
	InPlace   bool  // update-job: the change can be applied in place
}

func (e Event) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%-12s %s", fmtOffset(e.At), e.Kind)
	switch e.Kind {
	case EvRegisterJob, EvStopJob:
		fmt.Fprintf(&b, " job-%02d", e.Job)
	case EvUpdateJob:
		fmt.Fprintf(&b, " job-%02d in_place=%t", e.Job, e.InPlace)
	case EvPartition, EvHeal, EvCrash:
		fmt.Fprintf(&b, " nodes=%s", nodeList(e.Nodes))
	case EvRestart:
		fmt.Fprintf(&b, " nodes=%s with_state=%t", nodeList(e.Nodes), e.WithState)
	}
	return b.String()
}

func fmtOffset(d time.Duration) string { return d.Truncate(time.Millisecond).String() }

func nodeList(idx []int) string {
	const show = 6
	parts := make([]string, 0, show+1)
	for i, n := range idx {
		if i == show {
			parts = append(parts, fmt.Sprintf("…(%d)", len(idx)))
			break
		}
		parts = append(parts, NodeName(n))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// NodeName is the ID of the simulation's node i.
func NodeName(i int) string { return fmt.Sprintf("node-%03d", i) }

// JobName is the ID of the simulation's job i.
func JobName(i int) string { return fmt.Sprintf("job-%02d", i) }

// simJobs builds the simulation's jobs from the seed: a mix of disconnect
// policies (lost_after with and without replacement and every reconcile
// strategy, none, stop_on_client_after, the legacy max_client_disconnect)
// and reschedule policies.
func simJobs(rng *rand.Rand, n, nodes int) []*structs.Job {
	maxCount := max(1, min(5, nodes/4))
	strategies := []string{structs.ReconcileOptionBestScore, structs.ReconcileOptionKeepOriginal,
		structs.ReconcileOptionKeepReplacement, structs.ReconcileOptionLongestRunning}
	jobs := make([]*structs.Job, n)
	for i := range jobs {
		tg := &structs.TaskGroup{Name: "g", Count: 1 + rng.IntN(maxCount)}
		lostAfter := time.Duration(1+rng.IntN(5)) * time.Minute
		switch i % 5 {
		case 0:
			tg.Disconnect = &structs.DisconnectStrategy{LostAfter: lostAfter, Reconcile: strategies[rng.IntN(len(strategies))]}
		case 1:
			no := false
			tg.Disconnect = &structs.DisconnectStrategy{LostAfter: lostAfter, Replace: &no,
				Reconcile: strategies[rng.IntN(len(strategies))]}
		case 2:
			// no disconnect support
		case 3:
			stop := time.Duration(30+rng.IntN(90)) * time.Second
			tg.Disconnect = &structs.DisconnectStrategy{StopOnClientAfter: &stop}
		case 4:
			tg.MaxClientDisconnect = &lostAfter
		}
		switch rng.IntN(4) {
		case 0:
			tg.ReschedulePolicy = &structs.ReschedulePolicy{Unlimited: true, Interval: time.Hour,
				Delay: time.Duration(rng.IntN(30)) * time.Second}
		case 1:
			tg.ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 1 + rng.IntN(4), Interval: 30 * time.Minute,
				Delay: time.Duration(rng.IntN(20)) * time.Second}
		}
		typ := structs.JobTypeService
		if rng.IntN(6) == 0 {
			typ = structs.JobTypeBatch
		}
		jobs[i] = &structs.Job{ID: JobName(i), Name: JobName(i), Namespace: structs.DefaultNamespace,
			Type: typ, Priority: 50, Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{tg}}
	}
	return jobs
}

// GenerateEvents draws the fault schedule of cfg from its seed. The last
// quarter of the nodes (at least one) are never partitioned or crashed, so
// the cluster always has somewhere to place; faults hit the low node IDs,
// where the default placer puts allocs first.
func GenerateEvents(cfg SimConfig) []Event {
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5eed5c4ed))
	var ev []Event
	d := cfg.Duration
	for j := 0; j < cfg.Jobs; j++ {
		ev = append(ev, Event{At: 20*time.Second + time.Duration(rng.Int64N(int64(40*time.Second))), Kind: EvRegisterJob, Job: j})
	}
	anchors := max(1, cfg.Nodes/4)
	faulty := cfg.Nodes - anchors
	window := func() time.Duration { // a moment in the fault window
		lo := 2 * time.Minute
		if d <= lo {
			return d / 2
		}
		return lo + time.Duration(rng.Int64N(int64(d-lo)))
	}
	pick := func(k int) []int {
		if faulty <= 0 || k <= 0 {
			return nil
		}
		k = min(k, faulty)
		perm := rng.Perm(faulty)[:k]
		out := make([]int, k)
		copy(out, perm)
		slices.Sort(out)
		return out
	}
	if cfg.BigPartition && cfg.Duration > 8*time.Minute {
		// A third (PartitionFraction) of the cluster, cut off past its TTL
		// for 3 minutes and back at once.
		at := d / 4
		nodes := pick(max(1, int(float64(cfg.Nodes)*cfg.PartitionFraction)))
		ev = append(ev, Event{At: at, Kind: EvPartition, Nodes: nodes}, Event{At: at + 3*time.Minute, Kind: EvHeal, Nodes: nodes})
	}
	for p := 0; p < cfg.Partitions; p++ {
		at := window()
		var length time.Duration
		switch rng.IntN(3) {
		case 0: // shorter than a TTL: nothing should happen
			length = time.Duration(2+rng.IntN(10)) * time.Second
		case 1: // past the TTL, within lost_after
			length = time.Duration(40+rng.IntN(120)) * time.Second
		default: // past lost_after
			length = time.Duration(5+rng.IntN(6)) * time.Minute
		}
		nodes := pick(max(1, int(float64(cfg.Nodes)*cfg.PartitionFraction)))
		ev = append(ev, Event{At: at, Kind: EvPartition, Nodes: nodes})
		if at+length < d {
			ev = append(ev, Event{At: at + length, Kind: EvHeal, Nodes: nodes})
		}
	}
	for k := 0; k < cfg.Crashes; k++ {
		at := window()
		nodes := pick(1)
		ev = append(ev, Event{At: at, Kind: EvCrash, Nodes: nodes})
		if back := at + time.Duration(10+rng.IntN(480))*time.Second; back < d {
			ev = append(ev, Event{At: back, Kind: EvRestart, Nodes: nodes, WithState: rng.IntN(2) == 0})
		}
	}
	for k := 0; k < cfg.LeaderChanges; k++ {
		at := window()
		ev = append(ev, Event{At: at, Kind: EvLeaderLoss})
		if back := at + time.Duration(5+rng.IntN(55))*time.Second; back < d {
			ev = append(ev, Event{At: back, Kind: EvLeaderGain})
		}
	}
	if cfg.Jobs > 0 {
		for k := 0; k < cfg.JobUpdates; k++ {
			ev = append(ev, Event{At: window(), Kind: EvUpdateJob, Job: rng.IntN(cfg.Jobs), InPlace: rng.IntN(2) == 0})
		}
		for k := 0; k < cfg.JobStops; k++ {
			ev = append(ev, Event{At: window(), Kind: EvStopJob, Job: rng.IntN(cfg.Jobs)})
		}
	}
	ev = append(ev, Event{At: d, Kind: EvQuiesce})
	SortEvents(ev)
	return ev
}

// SortEvents orders events by time; equal times keep their order.
func SortEvents(ev []Event) {
	slices.SortStableFunc(ev, func(a, b Event) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
}
