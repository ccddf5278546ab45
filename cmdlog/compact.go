package cmdlog

import (
	"fmt"
	"os"
)

// Compact deletes the segments of the log in dir that a snapshot taken at
// index upTo makes redundant: the oldest segments whose every record has
// Index <= upTo. It returns the names it deleted, oldest first.
//
// The log must not be open for appending (close it first). Segments go
// oldest first, so a crash part way leaves a suffix of the log that still
// holds every record above upTo, and the directory is fsynced at the end.
// The whole log is read before anything is deleted: damage anywhere is a
// *CorruptError and nothing is deleted. A torn tail of the newest segment is
// tolerated as Open would truncate it: only the records before it count.
func Compact(dir string, upTo uint64) ([]string, error) {
	seqs, err := segments(dir)
	if err != nil {
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	return compactSegments(dir, seqs, upTo, true)
}

// Compact deletes, like the package's Compact, the segments before the one
// being appended to whose records are all <= upTo. Appends go on
// meanwhile: a segment is never written again once the log moved past it,
// and the one being appended to is never deleted.
func (l *Log) Compact(upTo uint64) ([]string, error) {
	l.mu.Lock()
	active, closed := l.seq, l.closed
	l.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	seqs, err := segments(l.dir)
	if err != nil {
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	var done []uint64
	for _, seq := range seqs {
		if seq < active {
			done = append(done, seq)
		}
	}
	removed, err := compactSegments(l.dir, done, upTo, false)
	if len(removed) > 0 {
		l.logger.Debug("compacted", "up_to", upTo, "segments_removed", len(removed))
	}
	return removed, err
}

// compactSegments deletes the leading segments of seqs (ascending) whose
// records are all <= upTo, after reading all of seqs. tornTail allows a torn
// tail in the last of seqs.
func compactSegments(dir string, seqs []uint64, upTo uint64, tornTail bool) ([]string, error) {
	// covered counts the leading segments whose records are all <= upTo.
	covered := 0
	for i, seq := range seqs {
		last, err := segmentLast(dir, seq, tornTail && i == len(seqs)-1)
		if err != nil {
			return nil, err
		}
		if last <= upTo && covered == i {
			covered = i + 1
		}
	}
	var removed []string
	for _, seq := range seqs[:covered] {
		if err := os.Remove(segmentPath(dir, seq)); err != nil {
			return removed, fmt.Errorf("cmdlog: compact: %w", err)
		}
		removed = append(removed, segmentName(seq))
	}
	if len(removed) > 0 {
		if err := syncDir(dir); err != nil {
			return removed, fmt.Errorf("cmdlog: compact: fsync dir: %w", err)
		}
	}
	return removed, nil
}

// segmentLast returns the index of the last record of segment seq (0 if it
// has none). A torn tail is an error unless newest says the segment is the
// log's last, where it ends the segment as Open's truncation would.
func segmentLast(dir string, seq uint64, newest bool) (uint64, error) {
	var last uint64
	_, err := walkSegment(dir, seq, newest, func(rec Record, _ int64) error {
		last = rec.Index
		return nil
	})
	return last, err
}
