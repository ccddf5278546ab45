package rejoin

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/cmdlog"
)

// logSyncInterval is how often the command log is fsynced: commands
// applied in the last interval before a crash may be lost (a graceful Stop
// loses nothing).
const logSyncInterval = 100 * time.Millisecond

// openLog opens the command log in the data directory (truncating a torn
// tail), replays into store every command past the snapshot, and records
// every later command into it.
func (p *persister) openLog() error {
	store := p.store
	dir := filepath.Join(p.dir, LogDir)
	l, err := cmdlog.Open(dir, cmdlog.Options{Logger: p.logger, SegmentSize: p.segmentSize})
	if err != nil {
		return fmt.Errorf("rejoin: open command log: %w", err)
	}
	if r := l.Recovered(); r != nil {
		p.logger.Warn("command log had a torn tail; truncated", "segment", r.Segment, "offset", r.Offset, "dropped_bytes", r.Dropped, "reason", r.Reason)
	}
	before := store.LatestIndex()
	idx, err := cmdlog.ReplayInto(store, dir, 0, time.Time{})
	if err != nil {
		l.Close()
		return fmt.Errorf("rejoin: replay command log: %w", err)
	}
	if idx > before {
		p.logger.Info("replayed command log", "from", before, "to", idx)
	}
	cl := &commandLogger{l: l, clock: p.clock, logger: p.logger}
	store.SetCommandSink(cmdlog.Sink(l, p.clock, cl.failed))
	cl.arm()
	p.log = cl
	return nil
}

// commandLogger fsyncs the log on a timer (group commit) and closes it.
type commandLogger struct {
	l      *cmdlog.Log
	clock  clock.Clock
	logger interface{ Error(string, ...any) }

	mu     sync.Mutex // protects timer and closed
	timer  clock.Timer
	closed bool
}

func (c *commandLogger) arm() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.timer = c.clock.AfterFunc(logSyncInterval, c.tick)
	}
}

func (c *commandLogger) tick() {
	if err := c.l.Sync(); err != nil {
		c.failed(err)
	}
	c.arm()
}

// failed logs a write the log could not take: the command is applied but
// would not survive a crash.
func (c *commandLogger) failed(err error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if !closed {
		c.logger.Error("command log write failed; state since then survives only a graceful stop", "error", err)
	}
}

func (c *commandLogger) compact(upTo uint64) ([]string, error) { return c.l.Compact(upTo) }

func (c *commandLogger) close() error {
	c.mu.Lock()
	c.closed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	return c.l.Close()
}
