package cmdlog

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// recordSize is the encoded size of rec(i).
func recordSize(i uint64) int64 { return int64(len(appendRecord(nil, rec(i)))) }

func TestLog_TornTail(t *testing.T) {
	full := int64(len(segmentMagic)) + 10*recordSize(1) // all rec(i) of 1..9 have one size
	cuts := map[string]int64{
		"inside header of last record": full - recordSize(10) + 3,
		"inside body of last record":   full - 5,
		"one byte short":               full - 1,
		"inside segment magic":         3,
	}
	for name, cut := range cuts {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeLog(t, dir, 10, Options{})
			seg := segFiles(t, dir)[0]
			must.Eq(t, full, fileSize(t, seg))
			must.NoError(t, os.Truncate(seg, cut))
			wantRecords := max((cut-int64(len(segmentMagic)))/recordSize(1), 0)

			// ReadDir ignores the torn tail.
			got, err := readAll(t, dir)
			must.NoError(t, err)
			must.Eq(t, wantRecords, int64(len(got)))

			l, err := Open(dir, Options{})
			must.NoError(t, err)
			rc := l.Recovered()
			must.NotNil(t, rc)
			must.Eq(t, segmentName(1), rc.Segment)
			must.Eq(t, int64(len(segmentMagic))+wantRecords*recordSize(1), rc.Offset)
			must.Eq(t, uint64(wantRecords), l.LastIndex())
			// Appends go on where the good records end.
			must.NoError(t, l.Append(rec(uint64(wantRecords)+1)))
			must.NoError(t, l.Close())
			got, err = readAll(t, dir)
			must.NoError(t, err)
			must.Eq(t, wantRecords+1, int64(len(got)))
			must.Eq(t, rec(uint64(wantRecords)+1), got[len(got)-1])
		})
	}
}

// A last record whose bytes are all there but do not check out is a write
// the crash interrupted: truncated too.
func TestLog_TornTailBadChecksum(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 10, Options{})
	seg := segFiles(t, dir)[0]
	b, err := os.ReadFile(seg)
	must.NoError(t, err)
	b[len(b)-1] ^= 0xff
	must.NoError(t, os.WriteFile(seg, b, 0o600))
	l, err := Open(dir, Options{})
	must.NoError(t, err)
	must.NotNil(t, l.Recovered())
	must.Eq(t, 9, l.LastIndex())
	must.NoError(t, l.Close())
}

func mustCorrupt(t *testing.T, dir, segment string, offset int64) {
	t.Helper()
	_, err := readAll(t, dir)
	must.ErrorIs(t, err, ErrCorruptLog)
	var ce *CorruptError
	must.True(t, errors.As(err, &ce))
	must.Eq(t, segment, ce.Segment)
	must.Eq(t, offset, ce.Offset)
	must.StrContains(t, err.Error(), segment)

	before := snapshotDir(t, dir)
	l, err := Open(dir, Options{})
	must.Nil(t, l)
	must.ErrorIs(t, err, ErrCorruptLog)
	must.Eq(t, before, snapshotDir(t, dir)) // Open changed nothing
}

func snapshotDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range segFiles(t, dir) {
		b, err := os.ReadFile(f)
		must.NoError(t, err)
		out[filepath.Base(f)] = b
	}
	return out
}

func TestLog_MidLogCorruption(t *testing.T) {
	rs := recordSize(1)
	magic := int64(len(segmentMagic))

	t.Run("payload byte flipped", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 10, Options{})
		seg := segFiles(t, dir)[0]
		b, _ := os.ReadFile(seg)
		b[magic+3*rs+20] ^= 1 // inside record 4
		must.NoError(t, os.WriteFile(seg, b, 0o600))
		mustCorrupt(t, dir, segmentName(1), magic+3*rs)
	})
	t.Run("crc flipped", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 10, Options{})
		seg := segFiles(t, dir)[0]
		b, _ := os.ReadFile(seg)
		b[magic+5] ^= 1
		must.NoError(t, os.WriteFile(seg, b, 0o600))
		mustCorrupt(t, dir, segmentName(1), magic)
	})
	t.Run("huge length", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 10, Options{})
		seg := segFiles(t, dir)[0]
		b, _ := os.ReadFile(seg)
		binary.LittleEndian.PutUint32(b[magic+rs:], 0xffffffff)
		must.NoError(t, os.WriteFile(seg, b, 0o600))
		mustCorrupt(t, dir, segmentName(1), magic+rs)
	})
	t.Run("torn tail of an earlier segment", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 100, Options{SegmentSize: 1 << 10})
		segs := segFiles(t, dir)
		must.Greater(t, 2, len(segs))
		size := fileSize(t, segs[0])
		must.NoError(t, os.Truncate(segs[0], size-3))
		mustCorrupt(t, dir, filepath.Base(segs[0]), size-rs)
	})
	t.Run("bad magic", func(t *testing.T) {
		dir := t.TempDir()
		writeLog(t, dir, 10, Options{})
		seg := segFiles(t, dir)[0]
		b, _ := os.ReadFile(seg)
		copy(b, "NOTALOG!")
		must.NoError(t, os.WriteFile(seg, b, 0o600))
		mustCorrupt(t, dir, segmentName(1), 0)
	})
	t.Run("index not increasing", func(t *testing.T) {
		dir := t.TempDir()
		b := []byte(segmentMagic)
		for _, i := range []uint64{1, 2, 5, 4, 6} {
			b = appendRecord(b, rec(i))
		}
		must.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), b, 0o600))
		mustCorrupt(t, dir, segmentName(1), int64(len(segmentMagic))+3*rs)
		_, err := readAll(t, dir)
		must.StrContains(t, err.Error(), ErrIndexOrder.Error())
	})
	t.Run("index order across segments", func(t *testing.T) {
		dir := t.TempDir()
		must.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(1)), appendRecord([]byte(segmentMagic), rec(7)), 0o600))
		must.NoError(t, os.WriteFile(filepath.Join(dir, segmentName(2)), appendRecord([]byte(segmentMagic), rec(7)), 0o600))
		mustCorrupt(t, dir, segmentName(2), magic)
	})
}

// ReadDir stops at an error from fn and returns it.
func TestReadDir_CallbackError(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 10, Options{})
	stop := errors.New("enough")
	var n int
	err := ReadDir(dir, func(Record) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	must.ErrorIs(t, err, stop)
	must.Eq(t, 3, n)
}

// A tail of zeros (file extended, data never written) is a torn tail.
func TestLog_ZeroedTail(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 10, Options{})
	seg := segFiles(t, dir)[0]
	size := fileSize(t, seg)
	must.NoError(t, os.Truncate(seg, size+4096))
	l, err := Open(dir, Options{})
	must.NoError(t, err)
	must.NotNil(t, l.Recovered())
	must.Eq(t, size, l.Recovered().Offset)
	must.Eq(t, 4096, l.Recovered().Dropped)
	must.Eq(t, 10, l.LastIndex())
	must.NoError(t, l.Close())
}
