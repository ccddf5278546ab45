package rpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Store is what the endpoints need from the state store; *state.Store
// satisfies it.
type Store interface {
	NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error)
	AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error)
	AllocsByNode(ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error)
	JobByID(ws memdb.WatchSet, namespace, jobID string) (*structs.Job, error)
	LatestIndex() uint64
	Snapshot() *state.Snapshot
	ApplyCommand(t structs.MessageType, req any) (uint64, any, error)
	BlockingQuery(ctx context.Context, minIndex uint64,
		query func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error)) (uint64, error)
}

var _ Store = (*state.Store)(nil)

// HeartbeatTimers is the part of the heartbeat tracker the endpoints drive:
// a node's timer restarts on every heartbeat and stops when it goes down.
type HeartbeatTimers interface {
	ResetHeartbeatTimer(nodeID string) (time.Duration, error)
	ClearHeartbeatTimer(nodeID string)
}

// Blocking query bounds, as Nomad's: a query without MaxQueryTime waits
// DefaultQueryTime, none waits longer than MaxQueryTime, and each gets a
// random extra wait of up to 1/JitterFraction so many clients that started
// together do not come back together.
const (
	DefaultQueryTime = 5 * time.Minute
	MaxQueryTime     = 10 * time.Minute
	JitterFraction   = 16
)

// DefaultBatchWindow is how long alloc updates are gathered into one write.
const DefaultBatchWindow = 50 * time.Millisecond

// DefaultMaxBatchAllocs caps the allocs of one batched write; reaching it
// flushes the batch before its window ends.
const DefaultMaxBatchAllocs = 8192

// Config configures the Node endpoints. Store and Heartbeats are required.
type Config struct {
	Store      Store
	Heartbeats HeartbeatTimers
	// Clock times batch windows and blocking queries; default clock.System.
	Clock clock.Clock
	// Logger gets a line per rejection; default: discard.
	Logger hclog.Logger
	// NewID makes evaluation IDs; default: random UUIDs.
	NewID func() string
	// Jitter returns a random duration in [0, max); default math/rand.
	Jitter func(max time.Duration) time.Duration

	// BatchWindow is how long UpdateAlloc calls are gathered before they
	// are applied as one write; default DefaultBatchWindow. A negative
	// window applies as soon as the previous write is done (group commit).
	BatchWindow time.Duration
	// ManualFlush disables the window timer: batches are applied only by
	// FlushAllocUpdates or by reaching MaxBatchAllocs. For tests.
	ManualFlush bool
	// MaxBatchAllocs flushes a batch early once it holds this many allocs;
	// default DefaultMaxBatchAllocs.
	MaxBatchAllocs int
}

func (c *Config) setDefaults() error {
	if c.Store == nil {
		return errors.New("rpc: Config.Store is required")
	}
	if c.Heartbeats == nil {
		return errors.New("rpc: Config.Heartbeats is required")
	}
	if c.Clock == nil {
		c.Clock = clock.System{}
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.NewID == nil {
		c.NewID = NewUUID
	}
	if c.Jitter == nil {
		c.Jitter = func(max time.Duration) time.Duration {
			if max <= 0 {
				return 0
			}
			return time.Duration(mrand.Int64N(int64(max)))
		}
	}
	if c.BatchWindow == 0 {
		c.BatchWindow = DefaultBatchWindow
	}
	if c.MaxBatchAllocs <= 0 {
		c.MaxBatchAllocs = DefaultMaxBatchAllocs
	}
	return nil
}

// NewUUID returns a random version 4 UUID.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}
