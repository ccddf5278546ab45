package heartbeat

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/structs"
)

// Defaults, as Nomad's.
const (
	DefaultMinHeartbeatTTL        = 10 * time.Second
	DefaultMaxHeartbeatsPerSecond = 50.0
	DefaultHeartbeatGrace         = 10 * time.Second
	DefaultFailoverHeartbeatTTL   = 5 * time.Minute
	DefaultBreakerMinNodes        = 10
	DefaultBreakerFraction        = 0.55
)

// ErrNotLeader: heartbeats are tracked only by the leader; the client should
// retry against the leader.
var ErrNotLeader = errors.New("not the leader")

// Rand is the random source for TTL stagger and evaluation IDs.
// *math/rand/v2.Rand satisfies it; calls are serialised by the Heartbeater.
type Rand interface {
	Float64() float64
	Uint64() uint64
}

// Metrics receives counters and gauges; the server exports them.
type Metrics interface {
	IncrCounter(name string, v int)
	SetGauge(name string, v float64)
}

// Metric names.
const (
	MetricReset         = "heartbeat.reset"          // counter: heartbeats accepted
	MetricExpired       = "heartbeat.expired"        // counter: nodes whose TTL expired
	MetricHeld          = "heartbeat.held"           // counter: expiries held by the breaker
	MetricBreakerOpened = "heartbeat.breaker.opened" // counter
	MetricBreakerClosed = "heartbeat.breaker.closed" // counter
	MetricBreakerOpen   = "heartbeat.breaker.open"   // gauge: datacenters with an open breaker
)

type noopMetrics struct{}

func (noopMetrics) IncrCounter(string, int)  {}
func (noopMetrics) SetGauge(string, float64) {}

// globalRand uses math/rand/v2's top-level functions, safe for concurrent use.
type globalRand struct{}

func (globalRand) Float64() float64 { return rand.Float64() }
func (globalRand) Uint64() uint64   { return rand.Uint64() }

// Config configures a Heartbeater. Zero values mean the defaults.
type Config struct {
	Clock   clock.Clock  // nil: clock.System
	Logger  hclog.Logger // nil: a null logger
	Rand    Rand         // nil: math/rand/v2's global source
	Metrics Metrics      // nil: no-op

	MinHeartbeatTTL        time.Duration
	MaxHeartbeatsPerSecond float64
	HeartbeatGrace         time.Duration
	FailoverHeartbeatTTL   time.Duration

	// BreakerDisabled turns the mass-disconnect breaker off.
	BreakerDisabled bool
	// BreakerMinNodes: datacenters with fewer tracked nodes are never held.
	BreakerMinNodes int
	// BreakerFraction: the breaker opens when strictly more than this
	// fraction of a datacenter's nodes expire within one TTL window.
	BreakerFraction float64
	// BreakerMaxHold bounds a hold; then held nodes are processed normally.
	// Zero means FailoverHeartbeatTTL.
	BreakerMaxHold time.Duration
}

// withDefaults validates cfg and fills in defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.MinHeartbeatTTL < 0 || cfg.HeartbeatGrace < 0 || cfg.FailoverHeartbeatTTL < 0 ||
		cfg.BreakerMaxHold < 0 || cfg.MaxHeartbeatsPerSecond < 0 || cfg.BreakerMinNodes < 0 ||
		cfg.BreakerFraction < 0 || cfg.BreakerFraction > 1 {
		return cfg, fmt.Errorf("heartbeat config: negative duration or out-of-range value: %w", structs.ErrInvalidRequest)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noopMetrics{}
	}
	if cfg.MinHeartbeatTTL == 0 {
		cfg.MinHeartbeatTTL = DefaultMinHeartbeatTTL
	}
	if cfg.MaxHeartbeatsPerSecond == 0 {
		cfg.MaxHeartbeatsPerSecond = DefaultMaxHeartbeatsPerSecond
	}
	if cfg.HeartbeatGrace == 0 {
		cfg.HeartbeatGrace = DefaultHeartbeatGrace
	}
	if cfg.FailoverHeartbeatTTL == 0 {
		cfg.FailoverHeartbeatTTL = DefaultFailoverHeartbeatTTL
	}
	if cfg.BreakerMinNodes == 0 {
		cfg.BreakerMinNodes = DefaultBreakerMinNodes
	}
	if cfg.BreakerFraction == 0 {
		cfg.BreakerFraction = DefaultBreakerFraction
	}
	if cfg.BreakerMaxHold == 0 {
		cfg.BreakerMaxHold = cfg.FailoverHeartbeatTTL
	}
	return cfg, nil
}
