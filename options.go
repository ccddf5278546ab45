package rejoin

import (
	"time"

	"github.com/hashicorp/go-hclog"
	gometrics "github.com/hashicorp/go-metrics"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/reconcile"
)

// Option configures a Server. Options are applied in order; a later one
// wins.
type Option func(*options)

type options struct {
	placer reconcile.Placer
	// evalParallelism is WithEvalParallelism's n.
	evalParallelism int
	queue           EvalQueue
	clock           clock.Clock
	logger          hclog.Logger
	hook            func(Decision)
	hbConfig        heartbeat.Config
	sink            gometrics.MetricSink
	dataDir         string
	// snapshotInterval: periodic snapshots with a data dir (<= 0: none).
	snapshotInterval time.Duration
	logSegmentSize   int64 // tests only (export_test.go); 0 = cmdlog's default
	newID            func() string
	batchWindow      time.Duration
	gaugeInterval    time.Duration
	decisionLog      int
	raft             *RaftConfig
}

// Defaults.
const (
	// DefaultGaugeInterval is how often the node-status and queue gauges
	// are sampled.
	DefaultGaugeInterval = 10 * time.Second
	// DefaultDecisionLogSize bounds the per-allocation "last decision"
	// memory Alloc.Get reports (oldest forgotten first).
	DefaultDecisionLogSize = 100_000
	// DefaultSnapshotInterval is how often a server with a data directory
	// writes a snapshot while it runs (and deletes the command log it
	// covers): what a crash replays is at most this much log.
	DefaultSnapshotInterval = 30 * time.Minute
)

func defaultOptions() options {
	return options{
		clock:            clock.System{},
		logger:           hclog.NewNullLogger(),
		gaugeInterval:    DefaultGaugeInterval,
		decisionLog:      DefaultDecisionLogSize,
		snapshotInterval: DefaultSnapshotInterval,
	}
}

// WithPlacer replaces reconcile.DefaultPlacer: node selection for every
// placement the reconciler asks for.
func WithPlacer(p reconcile.Placer) Option { return func(o *options) { o.placer = p } }

// WithEvalParallelism sets how many goroutines the built-in eval worker
// prepares evaluations on (reads each job's allocations and runs the
// reconciler); plans are still written one at a time and the decisions do
// not depend on it. n <= 0, the default, means runtime.GOMAXPROCS(0). Like
// Nomad's num_schedulers, lower it to leave cores to the RPC endpoints.
func WithEvalParallelism(n int) Option { return func(o *options) { o.evalParallelism = n } }

// WithEvalQueue hands evaluations to q instead of the built-in worker: a
// server with its own broker takes every pending evaluation out (delayed
// ones included: honour WaitUntil) and runs each with Server.Evaluate when
// it chooses.
func WithEvalQueue(q EvalQueue) Option { return func(o *options) { o.queue = q } }

// WithClock sets the clock for heartbeats, batch windows, delayed
// evaluations and decision times. Default clock.System.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

// WithLogger sets the logger (hclog, key/value pairs). Default: discard.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDecisionHook calls f with every decision the server applies (see
// Decision), after its write, outside every lock of the server, on the
// goroutine that applied it, in index order. f must not block for long:
// evaluations wait for it. It must not call Stop.
func WithDecisionHook(f func(Decision)) Option { return func(o *options) { o.hook = f } }

// WithHeartbeatConfig sets the heartbeat tracker's TTLs, grace and breaker.
// Its Clock, Logger and Metrics are replaced by the server's.
func WithHeartbeatConfig(c heartbeat.Config) Option { return func(o *options) { o.hbConfig = c } }

// WithMetrics records metrics into sink (go-metrics: an InmemSink, the
// Prometheus sink of package metrics, statsd, ...). Default: none.
func WithMetrics(sink gometrics.MetricSink) Option { return func(o *options) { o.sink = sink } }

// WithDataDir keeps the state in dir: a snapshot and a log of every
// command applied since. New restores from them. A snapshot is written by
// Stop and periodically while the server runs (WithSnapshotInterval); after
// each, the log segments it covers are deleted. While the server runs it
// holds a lock on dir (Unix): New with a directory another server holds
// fails with ErrDataDirLocked.
func WithDataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// WithSnapshotInterval sets how often a server with a data directory writes
// a snapshot while it runs, deleting the command-log segments the snapshot
// covers (default DefaultSnapshotInterval); d <= 0 snapshots only at Stop,
// and the log then grows until Stop. With WithRaft it has no effect: raft
// snapshots and trims its own log.
func WithSnapshotInterval(d time.Duration) Option {
	return func(o *options) { o.snapshotInterval = d }
}

// WithIDGenerator names new evaluations and allocations (default: random
// UUIDs). Deterministic tests and examples pass a counter.
func WithIDGenerator(f func() string) Option { return func(o *options) { o.newID = f } }

// WithAllocBatchWindow sets how long client alloc updates are gathered
// into one write (default rpc.DefaultBatchWindow; negative: write as soon
// as the previous write is done).
func WithAllocBatchWindow(d time.Duration) Option { return func(o *options) { o.batchWindow = d } }

// WithGaugeInterval sets how often gauges are sampled (default
// DefaultGaugeInterval); it matters only with WithMetrics.
func WithGaugeInterval(d time.Duration) Option { return func(o *options) { o.gaugeInterval = d } }
