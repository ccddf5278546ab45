package cmdlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// FuzzReadLog: any bytes as a log's only segment read as records with
// increasing indexes, or fail with ErrCorruptLog; Open then either fails
// with ErrCorruptLog changing nothing, or recovers a log whose records are
// exactly what ReadDir returned. Seeds in testdata/fuzz/FuzzReadLog.
func FuzzReadLog(f *testing.F) {
	b := []byte(segmentMagic)
	for i := uint64(1); i <= 3; i++ {
		b = appendRecord(b, rec(i))
	}
	f.Add(b)
	f.Add(b[:len(b)-4])
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		seg := filepath.Join(dir, segmentName(1))
		must.NoError(t, os.WriteFile(seg, data, 0o600))
		got, err := readAll(t, dir)
		if err != nil {
			must.ErrorIs(t, err, ErrCorruptLog)
			l, oerr := Open(dir, Options{})
			must.Nil(t, l)
			must.ErrorIs(t, oerr, ErrCorruptLog)
			after, rerr := os.ReadFile(seg)
			must.NoError(t, rerr)
			must.Eq(t, data, after)
			return
		}
		for i := 1; i < len(got); i++ {
			must.Greater(t, got[i-1].Index, got[i].Index)
		}
		l, err := Open(dir, Options{})
		must.NoError(t, err)
		must.NoError(t, l.Close())
		again, err := readAll(t, dir)
		must.NoError(t, err)
		must.Eq(t, got, again)
	})
}
