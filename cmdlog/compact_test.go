package cmdlog

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// segmentFirsts returns the first record index of each segment of dir.
func segmentFirsts(t *testing.T, dir string) []uint64 {
	t.Helper()
	seqs, err := segments(dir)
	must.NoError(t, err)
	var out []uint64
	for _, seq := range seqs {
		f, sr, err := openSegment(segmentPath(dir, seq), segmentName(seq))
		must.NoError(t, err)
		r, err := sr.next()
		must.NoError(t, err)
		out = append(out, r.Index)
		f.Close()
	}
	return out
}

func TestCompact_RemovesOnlySegmentsTheSnapshotCovers(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 500, Options{SegmentSize: 2 << 10})
	firsts := segmentFirsts(t, dir)
	must.Greater(t, 4, len(firsts))

	// A snapshot at the index just before the third segment starts covers
	// exactly the first two.
	upTo := firsts[2] - 1
	removed, err := Compact(dir, upTo)
	must.NoError(t, err)
	must.Eq(t, []string{segmentName(1), segmentName(2)}, removed)
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.Eq(t, rec(upTo+1), got[0])
	must.Eq(t, rec(500), got[len(got)-1])
	must.SliceLen(t, int(500-upTo), got)

	// One index short of the next segment's end removes nothing more: a
	// segment goes only when all of it is covered.
	removed, err = Compact(dir, firsts[3]-2)
	must.NoError(t, err)
	must.SliceEmpty(t, removed)
	again, err := readAll(t, dir)
	must.NoError(t, err)
	must.Eq(t, got, again)
}

func TestCompact_AllCoveredThenAppendContinues(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 300, Options{SegmentSize: 2 << 10})
	n := len(segFiles(t, dir))
	removed, err := Compact(dir, 300)
	must.NoError(t, err)
	must.SliceLen(t, n, removed)
	must.SliceEmpty(t, segFiles(t, dir))

	// The next run appends after the snapshot's index into a new log.
	l, err := Open(dir, Options{})
	must.NoError(t, err)
	must.NoError(t, l.Append(rec(301)))
	must.NoError(t, l.Close())
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.Eq(t, []Record{rec(301)}, got)
}

func TestCompact_NothingCovered(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 100, Options{SegmentSize: 1 << 10})
	before := segFiles(t, dir)
	removed, err := Compact(dir, 0)
	must.NoError(t, err)
	must.SliceEmpty(t, removed)
	must.Eq(t, before, segFiles(t, dir))

	empty := t.TempDir()
	removed, err = Compact(empty, 10)
	must.NoError(t, err)
	must.SliceEmpty(t, removed)
}

// Damage anywhere, even in a segment that would stay, deletes nothing.
func TestCompact_CorruptionDeletesNothing(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 200, Options{SegmentSize: 1 << 10})
	segs := segFiles(t, dir)
	must.Greater(t, 3, len(segs))
	victim := segs[len(segs)-2]
	b, err := os.ReadFile(victim)
	must.NoError(t, err)
	b[len(segmentMagic)+20] ^= 1
	must.NoError(t, os.WriteFile(victim, b, 0o600))

	removed, err := Compact(dir, 200)
	must.ErrorIs(t, err, ErrCorruptLog)
	var ce *CorruptError
	must.True(t, errors.As(err, &ce))
	must.Eq(t, filepath.Base(victim), ce.Segment)
	must.SliceEmpty(t, removed)
	must.Eq(t, segs, segFiles(t, dir))
}

// A torn tail of the newest segment ends it, as Open's truncation would;
// the same in an older segment is corruption.
func TestCompact_TornTail(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 200, Options{SegmentSize: 1 << 10})
	segs := segFiles(t, dir)
	firsts := segmentFirsts(t, dir)
	last := segs[len(segs)-1]
	must.NoError(t, os.Truncate(last, fileSize(t, last)-3)) // record 200 is torn

	// Covered up to 199: the newest segment's good records are all covered.
	removed, err := Compact(dir, 199)
	must.NoError(t, err)
	must.SliceLen(t, len(segs), removed)

	dir = t.TempDir()
	writeLog(t, dir, 200, Options{SegmentSize: 1 << 10})
	segs = segFiles(t, dir)
	must.NoError(t, os.Truncate(segs[0], fileSize(t, segs[0])-3))
	removed, err = Compact(dir, firsts[1]-1)
	must.ErrorIs(t, err, ErrCorruptLog)
	must.SliceEmpty(t, removed)
	must.Eq(t, segs, segFiles(t, dir))
}

// Log.Compact runs beside appends: it deletes covered segments the log has
// moved past, never the one being appended to.
func TestLog_CompactWhileOpen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentSize: 2 << 10})
	must.NoError(t, err)
	for i := uint64(1); i <= 300; i++ {
		must.NoError(t, l.Append(rec(i)))
	}
	must.NoError(t, l.Sync())
	firsts := segmentFirsts(t, dir)
	must.Greater(t, 3, len(firsts))

	removed, err := l.Compact(firsts[2] - 1)
	must.NoError(t, err)
	must.Eq(t, []string{segmentName(1), segmentName(2)}, removed)

	// Everything is covered, but the segment being appended to stays.
	removed, err = l.Compact(300)
	must.NoError(t, err)
	must.SliceLen(t, len(firsts)-3, removed)
	must.SliceLen(t, 1, segFiles(t, dir))

	must.NoError(t, l.Append(rec(301)))
	must.NoError(t, l.Close())
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.Eq(t, rec(firsts[len(firsts)-1]), got[0])
	must.Eq(t, rec(301), got[len(got)-1])

	_, err = l.Compact(400)
	must.ErrorIs(t, err, ErrClosed)
}
