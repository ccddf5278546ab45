package cmdlog

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/hashicorp/go-hclog"
)

// DefaultSegmentSize is the size past which Append starts a new segment.
const DefaultSegmentSize = 64 << 20

// ErrClosed: the log was closed.
var ErrClosed = errors.New("command log closed")

// Options configure a Log.
type Options struct {
	// SegmentSize: a segment holding at least this many bytes is closed
	// and the next record starts a new one (0 = DefaultSegmentSize).
	SegmentSize int64
	Logger      hclog.Logger
}

// Recovery describes a torn tail Open truncated.
type Recovery struct {
	Segment string // file name
	Offset  int64  // where the segment now ends
	Dropped int64  // bytes removed
	Reason  string
}

// Log appends records to the segment files of one directory. Appends are
// buffered; Sync writes and fsyncs them, one fsync for every record appended
// since the last (group commit: concurrent Syncs share it).
type Log struct {
	dir    string
	opts   Options
	logger hclog.Logger

	// mu protects the write side: the current segment, its buffer, the
	// last index, the counters and closed. Sync holds it only to flush the
	// buffer, never across an fsync.
	mu        sync.Mutex
	f         *os.File
	bw        *bufio.Writer
	seq       uint64 // current segment's sequence number
	size      int64  // current segment's size, buffered bytes included
	last      uint64 // index of the last record, 0 if none
	appended  uint64 // records appended so far (this session)
	buf       []byte
	closed    bool
	recovered *Recovery

	// syncMu serialises fsyncs and protects synced. Taken after mu (by a
	// rotation) or alone (by Sync), never the other way round.
	syncMu sync.Mutex
	synced uint64 // appended count covered by the last fsync
}

// Open opens the log in dir (created if missing) for appending after its
// last record. It reads the whole log to check it: a torn tail (partial or
// unverifiable last record of the last segment) is truncated, logged as a
// warning and reported by Recovered; any other damage is a *CorruptError
// and no Log.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	l := &Log{dir: dir, opts: opts, logger: opts.Logger.Named("cmdlog")}
	var torn *tornError
	if err := scanDir(dir, func(r Record) error { l.last = r.Index; return nil }, &torn); err != nil {
		return nil, err
	}
	seqs, err := segments(dir)
	if err != nil {
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	if len(seqs) == 0 {
		if err := l.create(1); err != nil {
			return nil, err
		}
		return l, nil
	}
	l.seq = seqs[len(seqs)-1]
	path := segmentPath(dir, l.seq)
	if torn != nil {
		if err := l.truncate(path, torn); err != nil {
			return nil, err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	l.f, l.bw, l.size = f, bufio.NewWriterSize(f, 256<<10), st.Size()
	return l, nil
}

// truncate cuts the last segment back to its last good record (or its
// header, when even that was cut) and fsyncs it.
func (l *Log) truncate(path string, torn *tornError) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cmdlog: %w", err)
	}
	off := max(torn.offset, 0)
	if off < int64(len(segmentMagic)) {
		// The header itself is cut: start the segment afresh.
		if err := os.WriteFile(path, []byte(segmentMagic), 0o600); err != nil {
			return fmt.Errorf("cmdlog: recover: %w", err)
		}
		off = int64(len(segmentMagic))
	} else if err := os.Truncate(path, off); err != nil {
		return fmt.Errorf("cmdlog: recover: %w", err)
	}
	if err := syncFile(path); err != nil {
		return err
	}
	l.recovered = &Recovery{Segment: filepath.Base(path), Offset: off, Dropped: st.Size() - off, Reason: torn.reason}
	l.logger.Warn("truncated torn tail of command log", "segment", l.recovered.Segment,
		"offset", off, "dropped_bytes", l.recovered.Dropped, "reason", torn.reason, "last_index", l.last)
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cmdlog: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cmdlog: fsync: %w", err)
	}
	return nil
}

// create starts segment seq; the caller holds mu (or owns l).
func (l *Log) create(seq uint64) error {
	path := segmentPath(l.dir, seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cmdlog: %w", err)
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	if _, err := bw.WriteString(segmentMagic); err != nil {
		f.Close()
		return fmt.Errorf("cmdlog: %w", err)
	}
	l.f, l.bw, l.seq, l.size = f, bw, seq, int64(len(segmentMagic))
	// The new file's directory entry must survive a crash too.
	if err := syncDir(l.dir); err != nil {
		return fmt.Errorf("cmdlog: fsync dir: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Recovered reports the torn tail Open truncated, or nil.
func (l *Log) Recovered() *Recovery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.recovered
}

// LastIndex returns the index of the last record appended or found by
// Open, 0 for an empty log.
func (l *Log) LastIndex() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// OrderError is an Append whose index is not above the last one. It
// matches ErrIndexOrder.
type OrderError struct{ Index, Last uint64 }

func (e *OrderError) Error() string {
	return fmt.Sprintf("%v: %d after %d", ErrIndexOrder, e.Index, e.Last)
}

// Is makes the error match ErrIndexOrder.
func (e *OrderError) Is(target error) bool { return target == ErrIndexOrder }

// Append adds rec to the log's buffer; it is durable after the next Sync.
// rec.Index must be above every index in the log (*OrderError otherwise);
// a payload too large for one record is refused. Neither changes the log.
// Payload is copied.
func (l *Log) Append(rec Record) error {
	if len(rec.Payload) > MaxRecordSize-fixedBody {
		return fmt.Errorf("cmdlog: record %d: payload of %d bytes exceeds the %d byte limit", rec.Index, len(rec.Payload), MaxRecordSize)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if rec.Index <= l.last {
		return &OrderError{Index: rec.Index, Last: l.last}
	}
	if l.size >= l.opts.SegmentSize {
		if err := l.rotate(); err != nil {
			return err
		}
	}
	l.buf = appendRecord(l.buf[:0], rec)
	if _, err := l.bw.Write(l.buf); err != nil {
		return fmt.Errorf("cmdlog: append %d: %w", rec.Index, err)
	}
	l.size += int64(len(l.buf))
	l.last = rec.Index
	l.appended++
	return nil
}

// rotate closes the current segment (flushed and fsynced) and starts the
// next. The caller holds mu.
func (l *Log) rotate() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if err := l.bw.Flush(); err != nil {
		return fmt.Errorf("cmdlog: rotate: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("cmdlog: rotate: fsync: %w", err)
	}
	l.synced = l.appended
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("cmdlog: rotate: %w", err)
	}
	if err := l.create(l.seq + 1); err != nil {
		return err
	}
	l.logger.Debug("started segment", "segment", segmentName(l.seq), "first_index_after", l.last)
	return nil
}

// Sync makes every record appended before the call durable: it flushes the
// buffer and fsyncs. Concurrent callers share one fsync; appends go on
// while it runs.
func (l *Log) Sync() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	target := l.appended
	err := l.bw.Flush()
	f := l.f
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cmdlog: flush: %w", err)
	}
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	if l.synced >= target {
		return nil // another Sync (or a rotation) covered these records
	}
	// Capture the count before fsyncing: records flushed after our flush
	// may or may not be in this fsync, so claim only ours.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cmdlog: fsync: %w", err)
	}
	l.synced = target
	return nil
}

// Close syncs and closes the log. Further calls fail with ErrClosed.
func (l *Log) Close() error {
	if err := l.Sync(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	l.closed = true
	if err := l.bw.Flush(); err != nil {
		return fmt.Errorf("cmdlog: close: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("cmdlog: close: fsync: %w", err)
	}
	return l.f.Close()
}
