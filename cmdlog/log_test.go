package cmdlog

import (
	"errors"
	"os"
	"sync"
	"testing"

	"github.com/shoenig/test/must"
)

func TestLog_RoundTripAndRotation(t *testing.T) {
	dir := t.TempDir()
	writeLog(t, dir, 500, Options{SegmentSize: 4 << 10})
	must.Greater(t, 3, len(segFiles(t, dir)))
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.SliceLen(t, 500, got)
	for i, r := range got {
		must.Eq(t, rec(uint64(i+1)), r)
	}

	// Reopen: appends continue after the last index, in the last segment.
	l, err := Open(dir, Options{SegmentSize: 4 << 10})
	must.NoError(t, err)
	must.Nil(t, l.Recovered())
	must.Eq(t, 500, l.LastIndex())
	err = l.Append(rec(500))
	must.ErrorIs(t, err, ErrIndexOrder)
	var oe *OrderError
	must.True(t, errors.As(err, &oe))
	must.NoError(t, l.Append(rec(510)))
	must.NoError(t, l.Close())
	must.ErrorIs(t, l.Append(rec(511)), ErrClosed)
	must.ErrorIs(t, l.Sync(), ErrClosed)
	got, err = readAll(t, dir)
	must.NoError(t, err)
	must.SliceLen(t, 501, got)
	must.Eq(t, rec(510), got[500])
}

func TestLog_EmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.SliceLen(t, 0, got)
	_, err = readAll(t, dir+"/missing")
	must.ErrorIs(t, err, os.ErrNotExist)

	l, err := Open(dir+"/sub", Options{})
	must.NoError(t, err)
	must.Eq(t, 0, l.LastIndex())
	must.NoError(t, l.Close())
	got, err = readAll(t, dir+"/sub")
	must.NoError(t, err)
	must.SliceLen(t, 0, got)
}

func TestLog_SyncMakesRecordsVisible(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{})
	must.NoError(t, err)
	defer l.Close()
	must.NoError(t, l.Append(rec(1)))
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.SliceLen(t, 0, got) // buffered, not written yet
	must.NoError(t, l.Sync())
	got, err = readAll(t, dir)
	must.NoError(t, err)
	must.SliceLen(t, 1, got)
}

// Concurrent appenders and syncers (group commit) lose nothing and keep
// the index order the appends had.
func TestLog_ConcurrentSync(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, Options{SegmentSize: 8 << 10})
	must.NoError(t, err)
	var (
		mu   sync.Mutex // makes index assignment and Append one step, as the store's write lock does
		next uint64
		wg   sync.WaitGroup
	)
	errs := make(chan error, 8*100)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				mu.Lock()
				next++
				err := l.Append(rec(next))
				mu.Unlock()
				if err == nil {
					err = l.Sync()
				}
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must.NoError(t, err)
	}
	must.NoError(t, l.Close())
	got, err := readAll(t, dir)
	must.NoError(t, err)
	must.SliceLen(t, 800, got)
	for i, r := range got {
		must.Eq(t, uint64(i+1), r.Index)
	}
}

func TestLog_PayloadTooLarge(t *testing.T) {
	l, err := Open(t.TempDir(), Options{})
	must.NoError(t, err)
	defer l.Close()
	r := rec(1)
	r.Payload = make([]byte, MaxRecordSize)
	must.Error(t, l.Append(r))
	must.Eq(t, 0, l.LastIndex())
	must.NoError(t, l.Append(rec(1)))
}
