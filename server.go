package rejoin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/metrics"
	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// ErrStopped is returned by calls that need a running server after Stop.
var ErrStopped = errors.New("rejoin: server stopped")

// lifecycle phases.
const (
	phaseNew = iota
	phaseStarted
	phaseStopped
)

// Server is the heartbeat and reconnect engine a scheduler server links
// in: the state store, the heartbeat tracker, the client RPC endpoints,
// the job and operator endpoints, and the evaluation worker, wired
// together. See the package documentation for its guarantees.
type Server struct {
	opts   options
	logger hclog.Logger
	clock  clock.Clock

	store     *state.Store
	hb        *heartbeat.Heartbeater
	hbt       *heartbeats
	node      *rpc.Node
	api       rpc.NodeAPI
	jobs      rpc.JobAPI
	ops       *rpc.Operator
	worker    *reconcile.Worker // nil with WithEvalQueue
	rec       *metrics.Recorder // nil without WithMetrics
	decisions *decisionLog
	persist   *persister // nil without WithDataDir
	raft      *raftMode  // nil without WithRaft

	// evaluator runs Evaluate's evaluations with WithEvalQueue (nil
	// otherwise); it is never Run, so it keeps no queue of its own.
	evaluator *reconcile.Worker

	// mu protects phase, cancel, rpcSrv, listeners and gaugeTimer. It is
	// never held while calling into another component that could call
	// back, or across network I/O.
	mu         sync.Mutex
	phase      int
	cancel     context.CancelFunc
	rpcSrv     *rpc.Server
	listeners  map[net.Listener]struct{}
	gaugeTimer clock.Timer
	// bg counts the background goroutines (worker or queue feeder).
	bg sync.WaitGroup
}

// New builds a server from opts. With WithDataDir it restores the state
// recorded there first. The server answers reads at once; it tracks
// heartbeats and processes evaluations only after Start.
func New(opts ...Option) (*Server, error) {
	o := defaultOptions()
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.clock == nil {
		o.clock = clock.System{}
	}
	if o.logger == nil {
		o.logger = hclog.NewNullLogger()
	}
	s := &Server{
		opts:      o,
		logger:    o.logger.Named("server"),
		clock:     o.clock,
		decisions: newDecisionLog(o.decisionLog),
		listeners: map[net.Listener]struct{}{},
	}
	if o.sink != nil {
		s.rec = metrics.New(o.sink)
	}

	var err error
	if o.raft != nil && o.queue != nil {
		return nil, fmt.Errorf("%w: WithRaft and WithEvalQueue do not combine", structs.ErrInvalidRequest)
	}
	if o.dataDir != "" && o.raft == nil {
		if s.store, s.persist, err = openDataDir(dataDirConfig{dir: o.dataDir, logger: o.logger, clock: o.clock,
			snapshotInterval: o.snapshotInterval, segmentSize: o.logSegmentSize, rec: s.rec}); err != nil {
			return nil, err
		}
	} else if s.store, err = state.NewStore(o.logger); err != nil {
		return nil, err
	}
	if o.raft != nil {
		if err := s.newRaftMode(); err != nil {
			return nil, err
		}
	}
	if err := s.wire(); err != nil {
		if s.raft != nil {
			_ = s.raft.replica.Shutdown()
		}
		if s.persist != nil {
			s.persist.abandon()
		}
		return nil, err
	}
	return s, nil
}

// wire builds the components over s.store.
func (s *Server) wire() error {
	o := s.opts
	hbCfg := o.hbConfig
	hbCfg.Clock, hbCfg.Logger = o.clock, o.logger
	hbCfg.Metrics = nil
	if s.rec != nil {
		hbCfg.Metrics = s.rec
	}
	var err error
	if s.hb, err = heartbeat.New(hbCfg, s.store, s.leaderStore()); err != nil {
		return fmt.Errorf("rejoin: heartbeat: %w", err)
	}
	s.hbt = newHeartbeats(s.hb, o.clock)
	if s.node, err = rpc.NewNode(rpc.Config{
		Store: s.clientStore(), Heartbeats: s.hbt, Clock: o.clock, Logger: o.logger,
		NewID: o.newID, BatchWindow: o.batchWindow,
	}); err != nil {
		return fmt.Errorf("rejoin: endpoints: %w", err)
	}
	s.api = s.node
	jobs, err := rpc.NewJobs(rpc.JobsConfig{Store: s.clientStore(), Clock: o.clock, Logger: o.logger, NewID: o.newID})
	if err != nil {
		return fmt.Errorf("rejoin: job endpoints: %w", err)
	}
	s.jobs = jobs
	if s.rec != nil {
		s.api = &meteredNode{NodeAPI: s.node, rec: s.rec}
		s.jobs = &meteredJobs{JobAPI: jobs, rec: s.rec}
	}
	s.forwardClients()
	if s.ops, err = rpc.NewOperator(rpc.OperatorConfig{
		Store: s.store, Heartbeats: s.hbt, Decisions: s.decisions, Leader: s.hb.IsLeader,
	}); err != nil {
		return fmt.Errorf("rejoin: operator endpoints: %w", err)
	}
	wcfg := reconcile.WorkerConfig{
		Store: s.leaderStore(), Clock: o.clock, Logger: o.logger, NewID: o.newID, Placer: o.placer,
		Parallelism: o.evalParallelism,
	}
	if s.rec != nil {
		wcfg.Metrics = s.rec
	}
	if o.queue != nil {
		s.evaluator = reconcile.NewWorker(wcfg) // Evaluate returns its results to the caller
	} else {
		wcfg.OnResult = func(eval *structs.Evaluation, in reconcile.Input, res *reconcile.Results, out reconcile.ApplyOutcome) {
			s.applied(eval.ID, in, res, out)
		}
		s.worker = reconcile.NewWorker(wcfg)
	}
	return nil
}

// applied records one applied evaluation: metrics, the decision log and
// the embedder's hook.
func (s *Server) applied(evalID string, in reconcile.Input, res *reconcile.Results, out reconcile.ApplyOutcome) []Decision {
	s.rec.Evaluated(s.clock.Now().Sub(in.Now), out.Unplaced)
	ds := decisionsOf(evalID, in, res, out)
	s.decisions.record(ds)
	for _, d := range ds {
		s.rec.Decision(d.Kind, d.Rule)
		if s.opts.hook != nil {
			s.opts.hook(d)
		}
	}
	return ds
}

// Start makes the server the leader: every node that is not down gets the
// failover TTL to heartbeat (heartbeat.Config.FailoverHeartbeatTTL), and
// evaluations start flowing to the worker (or the WithEvalQueue queue).
// It returns at once; Start after Start or after Stop is an error.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.phase {
	case phaseStarted:
		return errors.New("rejoin: server already started")
	case phaseStopped:
		return ErrStopped
	}
	if s.raft != nil {
		s.phase = phaseStarted
		s.mu.Unlock()
		s.startRaft()
		s.mu.Lock() // for the deferred Unlock
		return nil
	}
	nodes, err := s.store.Nodes(nil)
	if err != nil {
		return fmt.Errorf("rejoin: read nodes: %w", err)
	}
	s.hb.Initialize(nodes)
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.bg.Add(1)
	if s.worker != nil {
		go func() {
			defer s.bg.Done()
			if err := s.worker.Run(ctx); err != nil {
				s.logger.Error("eval worker stopped", "error", err)
			}
		}()
	} else {
		go func() {
			defer s.bg.Done()
			s.feed(ctx)
		}()
	}
	s.phase = phaseStarted
	if s.rec != nil && s.opts.gaugeInterval > 0 {
		s.gaugeTimer = s.clock.AfterFunc(s.opts.gaugeInterval, s.gaugeTick)
	}
	s.logger.Info("started as leader", "nodes", len(nodes), "index", s.store.LatestIndex())
	return nil
}

// Stop shuts the server down gracefully and for good: it stops accepting
// connections, ends blocking queries, applies gathered alloc updates,
// waits for in-flight RPCs and the evaluation being processed, gives up
// leadership (no more heartbeat expiries), and with WithDataDir writes a
// final snapshot and closes the command log. It blocks until all that is
// done; calling it again returns nil at once.
func (s *Server) Stop() error {
	s.mu.Lock()
	if s.phase == phaseStopped {
		s.mu.Unlock()
		return nil
	}
	s.phase = phaseStopped
	lns := s.listeners
	s.listeners = map[net.Listener]struct{}{}
	srv, cancel, gt := s.rpcSrv, s.cancel, s.gaugeTimer
	s.mu.Unlock()

	for ln := range lns {
		ln.Close() // stop accepting first
	}
	s.node.Close() // blocking queries return, pending batches apply
	if srv != nil {
		srv.Close() // waits for the calls in flight
	}
	if cancel != nil {
		cancel()
	}
	if s.raft != nil {
		if err := s.raft.replica.Shutdown(); err != nil { // gives up the lead
			s.logger.Error("raft shutdown", "error", err)
		}
	}
	s.bg.Wait()
	if gt != nil {
		gt.Stop()
	}
	s.hb.Stop()
	s.hbt.forget()
	if s.persist != nil {
		if err := s.persist.close(); err != nil {
			return err
		}
	}
	s.logger.Info("stopped", "index", s.store.LatestIndex())
	return nil
}

// Serve accepts client and operator RPC connections (msgpack net/rpc) on
// ln until Stop. It blocks; it returns nil after Stop.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.phase == phaseStopped {
		s.mu.Unlock()
		ln.Close()
		return ErrStopped
	}
	if s.rpcSrv == nil {
		srv, err := rpc.NewServer(s.api, rpc.ServerConfig{Logger: s.opts.logger, Jobs: s.jobs, Operator: s.ops})
		if err != nil {
			s.mu.Unlock()
			return err
		}
		s.rpcSrv = srv
	}
	srv := s.rpcSrv
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	return srv.Serve(ln)
}

// Endpoints returns the client endpoints (Register, UpdateStatus,
// UpdateAlloc, GetClientAllocs) as an in-process transport: call them
// directly from your own RPC layer. Safe for concurrent use.
func (s *Server) Endpoints() rpc.NodeAPI { return s.api }

// Jobs returns the job endpoints in process.
func (s *Server) Jobs() rpc.JobAPI { return s.jobs }

// Operator returns the operator read endpoints in process.
func (s *Server) Operator() rpc.OperatorAPI { return s.ops }

// Store returns read access to the live state. Objects are shared with
// the store: never modify them.
func (s *Server) Store() Reader { return s.store }

// Snapshot returns a consistent read view of the state at one index.
func (s *Server) Snapshot() *state.Snapshot { return s.store.Snapshot() }

// IsLeader reports whether the server tracks heartbeats (between Start and
// Stop).
func (s *Server) IsLeader() bool { return s.hb.IsLeader() }

// RegisterJob validates job (its disconnect blocks included) and writes it
// with a pending job-register evaluation; it returns that evaluation's ID.
// job is copied. An invalid job matches structs.ErrInvalidJob.
func (s *Server) RegisterJob(job *structs.Job) (string, error) {
	var reply rpc.JobRegisterResponse
	if err := s.jobs.Register(&rpc.JobRegisterRequest{Job: job}, &reply); err != nil {
		return "", err
	}
	return reply.EvalID, nil
}

// DeregisterJob stops a job and writes a pending job-deregister
// evaluation; it returns that evaluation's ID. An unknown job matches
// structs.ErrUnknownJob.
func (s *Server) DeregisterJob(namespace, jobID string) (string, error) {
	var reply rpc.JobDeregisterResponse
	if err := s.jobs.Deregister(&rpc.JobDeregisterRequest{Namespace: namespace, JobID: jobID}, &reply); err != nil {
		return "", err
	}
	return reply.EvalID, nil
}

// Job returns a copy of a job; an unknown one matches
// structs.ErrUnknownJob.
func (s *Server) Job(namespace, jobID string) (*structs.Job, error) {
	var reply rpc.JobGetResponse
	if err := s.jobs.Get(&rpc.JobSpecificRequest{Namespace: namespace, JobID: jobID}, &reply); err != nil {
		return nil, err
	}
	return reply.Job, nil
}

// ProcessEvals synchronously processes every evaluation that is ready now
// with the built-in worker and returns how many it completed. The
// background worker does the same on its own; call this to wait for it
// (tests, examples, a fake clock). Not available with WithEvalQueue.
// It must not be called from the decision hook.
func (s *Server) ProcessEvals() (int, error) {
	if s.worker == nil {
		return 0, fmt.Errorf("%w: ProcessEvals: evaluations go to the WithEvalQueue queue", structs.ErrInvalidRequest)
	}
	return s.worker.ProcessReady()
}
