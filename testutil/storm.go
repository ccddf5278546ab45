package testutil

import (
	"fmt"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Reconnect storm timing: the partition outlasts the rate-scaled TTL of the
// largest cluster (10,000 nodes / 50 per second = 200s, staggered up to
// 400s, plus 10s grace) and stays within lost_after, so every cut-off node
// is disconnected, its allocs marked unknown and replaced, and all of them
// come back at once.
const (
	stormPartitionAt  = 2 * time.Minute
	stormPartitionFor = 8 * time.Minute
	stormLostAfter    = 15 * time.Minute
	stormAllocsEach   = 5
)

// stormJobCount is the count of each storm job: many small jobs, as real
// clusters have, so one evaluation reconciles a job, not the cluster.
const stormJobCount = 50

// StormConfig is the reconnect storm: nodes clients each running 5 allocs
// (nodes/10 jobs of count 50, spread evenly by a round-robin placer); half
// the nodes are cut off past their TTL and healed at the same instant.
// Jobs alternate keep_original, keep_replacement, best_score,
// longest_running and no replacement (replace = false).
func StormConfig(seed uint64, nodes int) SimConfig {
	strategies := []string{structs.ReconcileOptionKeepOriginal, structs.ReconcileOptionKeepReplacement,
		structs.ReconcileOptionBestScore, structs.ReconcileOptionLongestRunning}
	jobs := make([]*structs.Job, max(1, nodes*stormAllocsEach/stormJobCount))
	for i := range jobs {
		d := &structs.DisconnectStrategy{LostAfter: stormLostAfter}
		if k := i % (len(strategies) + 1); k < len(strategies) {
			d.Reconcile = strategies[k]
		} else {
			no := false
			d.Replace = &no
		}
		jobs[i] = &structs.Job{ID: JobName(i), Namespace: structs.DefaultNamespace,
			Type: structs.JobTypeService, Priority: 50,
			TaskGroups: []*structs.TaskGroup{{Name: "g", Count: stormJobCount, Disconnect: d,
				ReschedulePolicy: &structs.ReschedulePolicy{Unlimited: true, Interval: time.Hour}}}}
		jobs[i].Name = jobs[i].ID
	}
	half := make([]int, nodes/2)
	for i := range half {
		half[i] = i
	}
	events := []Event{}
	for i := range jobs {
		// After every client registered (they start within 2s).
		events = append(events, Event{At: 30*time.Second + time.Duration(i)*10*time.Millisecond, Kind: EvRegisterJob, Job: i})
	}
	events = append(events,
		Event{At: stormPartitionAt, Kind: EvPartition, Nodes: half},
		Event{At: stormPartitionAt + stormPartitionFor, Kind: EvHeal, Nodes: half},
		Event{At: stormPartitionAt + stormPartitionFor + time.Minute, Kind: EvQuiesce})
	return SimConfig{Seed: seed, Nodes: nodes, Jobs: len(jobs), JobSpecs: jobs, Events: events,
		Duration: stormPartitionAt + stormPartitionFor + time.Minute, Quiesce: 10 * time.Minute,
		Net: NetConfig{MinDelay: time.Millisecond, MaxDelay: 20 * time.Millisecond}, RoundRobinPlacer: true}
}

// StormResult is what a reconnect storm did.
type StormResult struct {
	*SimResult
	// Converged is how long after the heal every node was ready and no
	// alloc the server wants running was unknown or awaiting its reconnect
	// (simulated time); ConvergeWall is the wall time that took.
	Converged, ConvergeWall time.Duration
	// ConvergeCPU is the process CPU time (user + system, every
	// goroutine, the garbage collector included) over ConvergeWall: on a
	// busy machine it moves less than the wall time (0 where unmeasured).
	ConvergeCPU time.Duration
	// TotalWall is the wall time of the whole storm: setup, partition,
	// heal, convergence and quiescence.
	TotalWall time.Duration
	// Live counts allocs wanted and running at the end; Duplicates and
	// Missing are the names with more than one, and with none.
	Live, Duplicates, Missing int
	// MaxPerNode is the most live allocs on one node at the end.
	MaxPerNode int
}

// RunStorm runs StormConfig(seed, nodes) and measures convergence.
func RunStorm(seed uint64, nodes int) (*StormResult, error) {
	return RunStormConfig(StormConfig(seed, nodes))
}

// RunStormTCP is RunStorm with every client call over the real RPC
// transport on 127.0.0.1 (SimConfig.TCP).
func RunStormTCP(seed uint64, nodes int) (*StormResult, error) {
	cfg := StormConfig(seed, nodes)
	cfg.TCP = true
	return RunStormConfig(cfg)
}

// RunStormConfig runs a storm config (StormConfig, possibly changed) and
// measures convergence after the heal.
func RunStormConfig(cfg SimConfig) (res *StormResult, err error) {
	start := time.Now()
	nodes := cfg.Nodes
	s, err := NewSim(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	heal := s.start.Add(stormPartitionAt + stormPartitionFor)
	s.advanceTo(heal)
	wall, cpu := time.Now(), processCPU()
	out := &StormResult{}
	for !s.stopped() && s.clk.Now().Before(s.end()) {
		s.advanceTo(s.clk.Now().Add(s.cfg.Tick))
		if s.converged() {
			out.Converged, out.ConvergeWall = s.clk.Now().Sub(heal), time.Since(wall)
			out.ConvergeCPU = processCPU() - cpu
			break
		}
	}
	out.SimResult = s.Run()
	out.TotalWall = time.Since(start)
	if out.Converged == 0 && out.Err == nil {
		out.Err = fmt.Errorf("storm of %d nodes did not converge within %s of the heal", nodes, s.end().Sub(heal))
	}
	allocs, err := s.store.Allocs(nil)
	if err != nil {
		return nil, err
	}
	byName := map[string]int{}
	perNode := map[string]int{}
	for raw := allocs.Next(); raw != nil; raw = allocs.Next() {
		a := raw.(*structs.Allocation)
		if a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusRunning {
			out.Live++
			byName[a.Name]++
			perNode[a.NodeID]++
			out.MaxPerNode = max(out.MaxPerNode, perNode[a.NodeID])
		}
	}
	for _, job := range s.jobs {
		for i := 0; i < stormJobCount; i++ {
			switch byName[AllocName(job.ID, "g", i)] {
			case 0:
				out.Missing++
			case 1:
			default:
				out.Duplicates++
			}
		}
	}
	return out, nil
}

// converged reports whether every node is ready, the worker is idle and no
// alloc the server wants running is unknown or awaiting its reconnect.
func (s *Sim) converged() bool {
	for _, st := range s.stats.nodeStatus {
		if st != structs.NodeStatusReady {
			return false
		}
	}
	if ready, _ := s.worker.Pending(); ready > 0 {
		return false
	}
	for id := range s.checker.unknownSet {
		if r := s.checker.allocs[id]; r != nil && r.desired == structs.AllocDesiredStatusRun {
			return false
		}
	}
	return true
}
