package main

import (
	"fmt"
	"io"
	"os"
	"time"
)

// progress prints a reading meter on stderr, only when stderr is a
// terminal: piped or captured stderr stays free of carriage-return noise.
type progress struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	shown bool
}

// newProgress returns nil unless w is a terminal.
func newProgress(w io.Writer, label string) *progress {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	info, err := f.Stat()
	if err != nil || info.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	now := time.Now()
	return &progress{w: w, label: label, start: now, last: now}
}

// update shows records read (when known), their rate and the percentage
// of the file, at most five times a second.
func (p *progress) update(records int, off, total int64) {
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond && off < total {
		return
	}
	p.last = now
	secs := max(now.Sub(p.start).Seconds(), 1e-3)
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(off) / float64(total)
	}
	if records > 0 {
		fmt.Fprintf(p.w, "\r%s: %d records (%.0f records/s), %.1f%%", p.label, records, float64(records)/secs, pct)
	} else {
		fmt.Fprintf(p.w, "\r%s: %.1f MB (%.1f MB/s), %.1f%%", p.label, float64(off)/1e6, float64(off)/1e6/secs, pct)
	}
	p.shown = true
}

// done ends the meter's line.
func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

// progressReader reports bytes read through it (rejoin snapshots stream
// from the file, so only bytes are known).
type progressReader struct {
	r     io.Reader
	p     *progress
	n     int64
	total int64
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.n += int64(n)
	r.p.update(0, r.n, r.total)
	return n, err
}
