package testutil

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// SimConfig is everything a simulation run depends on. Seed fixes every
// random choice: the same config gives the same run, byte for byte.
type SimConfig struct {
	Seed  uint64
	Nodes int
	Jobs  int
	// Duration is the fault window; Quiesce follows it (faults healed,
	// clients back, the cluster must converge). Zero Quiesce: 20 minutes.
	Duration time.Duration
	Quiesce  time.Duration
	// Tick is the simulation step: time advances a tick at a time, every
	// timer due in it fires (in deadline order), then the eval worker runs
	// and the per-step invariants are checked. Zero: 100ms.
	Tick time.Duration
	// PartitionFraction is the share of nodes one partition cuts off.
	PartitionFraction float64
	Partitions        int
	// BigPartition adds one partition of PartitionFraction of the nodes, a
	// quarter into the fault window, for 3 minutes (past the TTL).
	BigPartition  bool
	Crashes       int
	LeaderChanges int
	JobUpdates    int
	JobStops      int
	// AllocFailRate is the chance a started alloc later fails on its own.
	AllocFailRate float64
	Net           NetConfig
	// Events replaces the generated schedule (regression simulations,
	// trace shrinking). Nil: GenerateEvents(cfg).
	Events []Event
	// JobSpecs replaces the generated jobs (nil: drawn from the seed).
	JobSpecs []*structs.Job
	// RoundRobinPlacer places allocs round-robin over the ready nodes
	// (one alloc of a job per node) instead of reconcile.DefaultPlacer,
	// which scans every node per placement and puts every job on the
	// lowest node IDs: the storm needs many small jobs spread evenly.
	RoundRobinPlacer bool
	// EvalParallelism is the eval worker's WorkerConfig.Parallelism (0:
	// one goroutine per CPU). The trace does not depend on it.
	EvalParallelism int
	// OnResult, if set, sees every evaluation the worker applied, with
	// the reconciler's input and decisions (see ExportScenario).
	OnResult func(eval *structs.Evaluation, in reconcile.Input, res *reconcile.Results, out reconcile.ApplyOutcome)
	// StopOnViolation ends the run at the first violation.
	StopOnViolation bool
	// Timeline records node and alloc statuses over time.
	Timeline bool
	// Progress, if set, is called about every simulated minute.
	Progress func(simNow, total time.Duration)
	// CommandSink, if set, gets every command the store applies.
	CommandSink func(index uint64, t structs.MessageType, payload []byte)
	// Hooks break the server on purpose (tests of the checker).
	Hooks Hooks
	// TCP sends every client call over the real RPC transport: an
	// rpc.Server on 127.0.0.1 in front of the server's rpc.Node, reached
	// through rpc.Clients (msgpack over TCP). Time stays simulated and the
	// calls stay in the simulation's order, so a seed replays exactly.
	// Close the Sim to release the port.
	TCP bool
}

// Hooks are test-only faults injected into the server to prove the
// invariant checker can fail.
type Hooks struct {
	// DisableReadyCheck lets alloc updates from non-ready nodes through
	// (the node is made ready for the write and put back).
	DisableReadyCheck bool
	// MutatePlan changes every plan the eval worker writes, before it is
	// applied.
	MutatePlan func(plan *structs.ApplyPlanResultsRequest, store *state.Store)
}

// ClusterSimConfig is `rejoin sim`'s default: 200 nodes, 20 jobs with mixed
// disconnect policies, a third of the cluster cut off past its TTL and back,
// more partitions, client crashes and one leadership change.
func ClusterSimConfig(seed uint64) SimConfig {
	return SimConfig{
		Seed: seed, Nodes: 200, Jobs: 20, Duration: time.Hour,
		PartitionFraction: 1.0 / 3, BigPartition: true, Partitions: 3, Crashes: 10, LeaderChanges: 1,
		JobUpdates: 4, JobStops: 2, AllocFailRate: 0.03, Net: DefaultNetConfig,
	}
}

// DefaultSimConfig is the simulation the seed tests run many times: small
// enough to be fast, with every kind of fault.
func DefaultSimConfig(seed uint64) SimConfig {
	return SimConfig{
		Seed: seed, Nodes: 12, Jobs: 5, Duration: 40 * time.Minute,
		PartitionFraction: 1.0 / 3, BigPartition: true, Partitions: 3, Crashes: 3, LeaderChanges: 1,
		JobUpdates: 2, JobStops: 1, AllocFailRate: 0.05, Net: DefaultNetConfig,
	}
}

func (c *SimConfig) setDefaults() {
	if c.Tick <= 0 {
		c.Tick = 100 * time.Millisecond
	}
	if c.Quiesce == 0 {
		c.Quiesce = 20 * time.Minute
	}
	if c.Net == (NetConfig{}) {
		c.Net = DefaultNetConfig
	}
}

// TraceEntry is one executed scheduled event.
type TraceEntry struct {
	Step  int
	Event Event
}

func (t TraceEntry) String() string { return fmt.Sprintf("step %-7d %s", t.Step, t.Event) }

// SimResult is what a run produced.
type SimResult struct {
	Config     SimConfig
	Violations []Violation
	Trace      []TraceEntry
	// Shortest is the shortest event trace found that still fails (set by
	// Shrink).
	Shortest []TraceEntry
	// TraceHash is the SHA-256 of every command the store applied and every
	// event executed: equal for equal configs.
	TraceHash string
	Stats     SimStats
	Checks    int
	Steps     int
	SimTime   time.Duration
	WallTime  time.Duration
	Timeline  *Timeline
	// Err is a failure of the harness or the server (not an invariant).
	Err error
}

// Failed reports whether the run broke an invariant or failed.
func (r *SimResult) Failed() bool { return len(r.Violations) > 0 || r.Err != nil }

// Sim is one simulated cluster: a real server (state store, heartbeat
// timers, RPC endpoints, eval worker) and simulated clients over a simulated
// network, all driven by one FakeClock in one goroutine.
type Sim struct {
	cfg    SimConfig
	clk    *FakeClock
	start  time.Time
	store  *state.Store
	hb     HeartbeatService
	errLog serverLog
	rpc    *rpc.Node
	tcp    *simTCP // nil: clients call rpc in process
	worker evalWorker
	net    *Network

	checker  *Checker
	clients  []*SimClient
	jobs     []*structs.Job
	leader   bool
	step     int
	trace    []TraceEntry
	hash     hash.Hash
	stats    SimStats
	timeline *Timeline
	idSeq    uint64
	srvRng   *rand.Rand
	err      error
	// applied is the index of the last command the store applied and
	// allocIdx the last that could change allocs (both from the sink:
	// cheaper than a store read per tick); workerIdx is applied as of the
	// worker's last pass.
	applied, allocIdx, workerIdx uint64
	nextProgress                 time.Time
}

// serverLog receives the server components' error-level log lines. The
// mass-disconnect breaker logs its opening at error level on purpose (an
// operator must see it): those lines are counted; any other line is a
// server failure that fails the run.
type serverLog struct {
	buf   bytes.Buffer
	stats *SimStats
}

func (l *serverLog) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("mass-disconnect breaker")) {
		l.stats.BreakerOpened++
		return len(p), nil
	}
	return l.buf.Write(p)
}

// evalWorker is what the harness needs of the eval worker.
type evalWorker interface {
	ProcessReady() (int, error)
	Pending() (ready, delayed int)
}

// SimEpoch is when every simulation starts.
var SimEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewSim builds the cluster for cfg; Run drives it.
func NewSim(cfg SimConfig) (*Sim, error) {
	cfg.setDefaults()
	clk := NewFakeClock(SimEpoch)
	store, err := state.NewStore(nil)
	if err != nil {
		return nil, err
	}
	s := &Sim{
		cfg: cfg, clk: clk, start: SimEpoch, store: store, leader: true,
		checker: NewChecker(), hash: sha256.New(),
		srvRng: rand.New(rand.NewPCG(cfg.Seed, 0x5e41e4)),
		stats:  newSimStats(),
	}
	s.checker.Now = clk.Now
	if cfg.Timeline {
		s.timeline = newTimeline(SimEpoch)
	}
	s.net = NewNetwork(clk, rand.New(rand.NewPCG(cfg.Seed, 0x4e7)), cfg.Net)
	store.SetCommandSink(s.onCommand)

	// Server components log errors into errLog: any line there fails the run.
	s.errLog.stats = &s.stats
	logger := hclog.New(&hclog.LoggerOptions{Output: &s.errLog, Level: hclog.Error})
	hb, err := heartbeat.New(heartbeat.Config{Clock: clk, Logger: logger,
		Rand: rand.New(rand.NewPCG(cfg.Seed, 0x4b))}, store, store)
	if err != nil {
		return nil, err
	}
	hb.Initialize(nil)
	s.hb = hb
	node, err := rpc.NewNode(rpc.Config{
		Store: store, Heartbeats: s.hb, Clock: clk, NewID: s.newID, Logger: logger,
		Jitter: func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return time.Duration(s.srvRng.Int64N(int64(max)))
		},
		// One alloc fills a batch: every UpdateAlloc is applied in the
		// caller's goroutine before it returns, so the single simulation
		// goroutine never waits on a batch window or a commit goroutine.
		MaxBatchAllocs: 1,
	})
	if err != nil {
		return nil, err
	}
	s.rpc = node
	if cfg.TCP {
		if s.tcp, err = startTCP(node, min(cfg.Nodes, tcpConns)); err != nil {
			return nil, err
		}
	}
	wc := reconcile.WorkerConfig{
		Store: hookedStore{Store: store, mutate: cfg.Hooks.MutatePlan},
		Clock: clk, Logger: logger, NewID: s.newID, OnResult: cfg.OnResult,
		Parallelism: cfg.EvalParallelism,
	}
	if cfg.RoundRobinPlacer {
		wc.Placer = &roundRobinPlacer{s: s}
	}
	s.worker = reconcile.NewWorker(wc)

	if cfg.JobSpecs != nil {
		s.jobs = make([]*structs.Job, len(cfg.JobSpecs))
		for i, j := range cfg.JobSpecs {
			s.jobs[i] = j.Copy()
		}
	} else {
		s.jobs = simJobs(rand.New(rand.NewPCG(cfg.Seed, 0x70b5)), cfg.Jobs, cfg.Nodes)
	}
	s.clients = make([]*SimClient, cfg.Nodes)
	for i := range s.clients {
		id := NodeName(i)
		c := &SimClient{ID: id, Secret: "secret-" + id, sim: s, Chaos: true,
			rng: rand.New(rand.NewPCG(cfg.Seed, uint64(i)+1)), allocs: map[string]*localAlloc{}, api: node}
		if s.tcp != nil {
			c.api = s.tcp.client(i)
		}
		s.clients[i] = c
		c.Start()
	}
	events := cfg.Events
	if events == nil {
		events = GenerateEvents(cfg)
	}
	for _, ev := range events {
		ev := ev
		clk.AfterFunc(ev.At, func() { s.exec(ev) })
	}
	return s, nil
}

// Close releases what the simulation holds outside memory: the TCP
// transport's port and connections (see SimConfig.TCP). Idempotent.
func (s *Sim) Close() error {
	if s.tcp == nil {
		return nil
	}
	err := s.tcp.close()
	s.tcp = nil
	return err
}

func (s *Sim) newID() string {
	s.idSeq++
	return fmt.Sprintf("%08x-%04x", s.idSeq, s.srvRng.Uint32()&0xffff)
}

// Store returns the server's state store.
func (s *Sim) Store() *state.Store { return s.store }

// Clock returns the simulation's clock.
func (s *Sim) Clock() *FakeClock { return s.clk }

// Checker returns the invariant checker.
func (s *Sim) Checker() *Checker { return s.checker }

// Client returns simulated client i.
func (s *Sim) Client(i int) *SimClient { return s.clients[i] }

// onCommand sees every command the store applies: the invariant checker,
// the statistics, the timeline and the trace hash.
func (s *Sim) onCommand(index uint64, t structs.MessageType, payload []byte) {
	var hdr [9]byte
	binary.BigEndian.PutUint64(hdr[:8], index)
	hdr[8] = byte(t)
	s.hash.Write(hdr[:])
	s.hash.Write(payload)
	s.applied = index
	if t == structs.AllocClientUpdateRequestType || t == structs.ApplyPlanResultsRequestType {
		s.allocIdx = index
	}
	if s.cfg.CommandSink != nil {
		s.cfg.CommandSink(index, t, payload)
	}
	req, err := structs.DecodeCommand(t, payload)
	if err != nil {
		return
	}
	s.checker.ObserveRequest(index, req, s.store)
	s.stats.observe(req)
	if s.timeline != nil {
		s.timeline.observe(s.clk.Now(), req, s.store)
	}
}

// RunFor advances the simulation by d (at most to its end), a tick at a
// time. Tests use it to stop half-way and poke at the cluster.
func (s *Sim) RunFor(d time.Duration) {
	s.advanceTo(s.clk.Now().Add(d))
}

func (s *Sim) end() time.Time { return s.start.Add(s.cfg.Duration + s.cfg.Quiesce) }

func (s *Sim) stopped() bool {
	return s.err != nil || (s.cfg.StopOnViolation && len(s.checker.Violations()) > 0)
}

func (s *Sim) advanceTo(target time.Time) {
	if end := s.end(); target.After(end) {
		target = end
	}
	for !s.stopped() && s.clk.Now().Before(target) {
		next := s.clk.Now().Add(s.cfg.Tick)
		if next.After(target) {
			next = target
		}
		s.step++
		s.checker.Step = s.step
		s.clk.Set(next)
		s.afterStep()
		if s.cfg.Progress != nil && !next.Before(s.nextProgress) {
			s.cfg.Progress(next.Sub(s.start), s.end().Sub(s.start))
			s.nextProgress = next.Add(time.Minute)
		}
	}
}

// Run drives the simulation to its end, checks the quiescent invariants
// and returns what happened.
func (s *Sim) Run() *SimResult {
	wall := time.Now()
	s.advanceTo(s.end())
	if !s.stopped() {
		if err := s.checker.CheckQuiescent(s.store); err != nil && s.err == nil {
			s.err = err
		}
	}
	res := &SimResult{
		Config: s.cfg, Violations: s.checker.Violations(), Trace: s.trace,
		Stats: s.stats, Checks: s.checker.Checks, Steps: s.step,
		SimTime: s.clk.Now().Sub(s.start), WallTime: time.Since(wall), Timeline: s.timeline, Err: s.err,
	}
	res.Stats.Net = s.net.Stats
	res.TraceHash = hex.EncodeToString(s.hash.Sum(nil))
	return res
}

// afterStep lets the eval worker catch up, then runs the per-step checks.
func (s *Sim) afterStep() {
	if s.errLog.buf.Len() > 0 && s.err == nil {
		s.err = fmt.Errorf("step %d: server logged an error: %s", s.step, s.errLog.buf.String())
	}
	if !s.leader {
		return
	}
	ready, _ := s.worker.Pending()
	if s.applied != s.workerIdx || ready > 0 {
		n, err := s.worker.ProcessReady()
		if err != nil && s.err == nil {
			s.err = fmt.Errorf("step %d: eval worker: %w", s.step, err)
		}
		s.stats.EvalsProcessed += n
		s.workerIdx = s.applied
	}
	s.checker.CheckStep()
}

// exec runs one scheduled event.
func (s *Sim) exec(ev Event) {
	s.trace = append(s.trace, TraceEntry{Step: s.step, Event: ev})
	fmt.Fprintf(s.hash, "event %s\n", ev)
	switch ev.Kind {
	case EvRegisterJob:
		s.registerJob(ev.Job, false)
	case EvUpdateJob:
		s.registerJob(ev.Job, ev.InPlace)
	case EvStopJob:
		s.stopJob(ev.Job)
	case EvPartition:
		s.net.Partition(s.nodeIDs(ev.Nodes)...)
		s.stats.Partitions++
	case EvHeal:
		s.net.Heal(s.nodeIDs(ev.Nodes)...)
	case EvCrash:
		for _, i := range ev.Nodes {
			if c := s.clients[i]; c.up {
				c.Crash()
				s.stats.ClientCrashes++
			}
		}
	case EvRestart:
		for _, i := range ev.Nodes {
			if c := s.clients[i]; !c.up {
				c.Restart(ev.WithState)
				s.stats.ClientRestarts++
			}
		}
	case EvLeaderLoss:
		s.loseLeadership()
	case EvLeaderGain:
		s.gainLeadership()
	case EvQuiesce:
		s.net.HealAll()
		s.gainLeadership()
		for _, c := range s.clients {
			c.Chaos = false
			if !c.up {
				c.Restart(true)
				s.stats.ClientRestarts++
			}
		}
	}
}

func (s *Sim) nodeIDs(idx []int) []string {
	out := make([]string, 0, len(idx))
	for _, i := range idx {
		if i >= 0 && i < len(s.clients) {
			out = append(out, s.clients[i].ID)
		}
	}
	return out
}

func (s *Sim) loseLeadership() {
	if !s.leader {
		return
	}
	s.leader = false
	s.hb.Clear()
	s.stats.LeaderChanges++
}

func (s *Sim) gainLeadership() {
	if s.leader {
		return
	}
	s.leader = true
	nodes, err := s.store.Nodes(nil)
	if err != nil {
		s.err = err
		return
	}
	s.hb.Initialize(nodes)
}

// registerJob registers job i (or a new version of it) with its evaluation,
// as the Job.Register endpoint would.
func (s *Sim) registerJob(i int, inPlace bool) {
	if i < 0 || i >= len(s.jobs) {
		return
	}
	job := s.jobs[i].Copy()
	job.UpdateInPlace = inPlace
	now := s.clk.Now()
	_, _, err := s.store.ApplyCommand(structs.JobRegisterRequestType, &structs.JobRegisterRequest{
		Job: job, Eval: s.jobEval(job, structs.EvalTriggerJobRegister), UpdatedAt: now.UnixNano(),
	})
	if err != nil {
		s.err = fmt.Errorf("register %s: %w", job.ID, err)
	}
}

func (s *Sim) stopJob(i int) {
	if i < 0 || i >= len(s.jobs) {
		return
	}
	job := s.jobs[i]
	_, _, err := s.store.ApplyCommand(structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
		Namespace: job.Namespace, JobID: job.ID, Eval: s.jobEval(job, structs.EvalTriggerJobDeregister),
		UpdatedAt: s.clk.Now().UnixNano(),
	})
	if err != nil && !errors.Is(err, structs.ErrUnknownJob) {
		s.err = fmt.Errorf("stop %s: %w", job.ID, err)
	}
}

func (s *Sim) jobEval(job *structs.Job, trigger string) *structs.Evaluation {
	now := s.clk.Now().UnixNano()
	return &structs.Evaluation{ID: s.newID(), Namespace: job.Namespace, Priority: job.Priority, Type: job.Type,
		TriggeredBy: trigger, JobID: job.ID, Status: structs.EvalStatusPending, CreateTime: now, ModifyTime: now}
}
