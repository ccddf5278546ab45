package cmdlog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func rec(i uint64) Record {
	return Record{Index: i, Time: t0.Add(time.Duration(i) * time.Second),
		Type: structs.MessageType(i % 8), Payload: []byte(fmt.Sprintf("payload-%06d-%s", i, "xxxxxxxxxxxxxxxx"))}
}

// writeLog appends records 1..n to a fresh log in dir and closes it.
func writeLog(t testing.TB, dir string, n int, opts Options) {
	t.Helper()
	l, err := Open(dir, opts)
	must.NoError(t, err)
	for i := 1; i <= n; i++ {
		must.NoError(t, l.Append(rec(uint64(i))))
	}
	must.NoError(t, l.Close())
}

// readAll returns every record of dir (payloads copied).
func readAll(t testing.TB, dir string) ([]Record, error) {
	t.Helper()
	var out []Record
	err := ReadDir(dir, func(r Record) error {
		r.Payload = append([]byte(nil), r.Payload...)
		out = append(out, r)
		return nil
	})
	return out, err
}

func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	seqs, err := segments(dir)
	must.NoError(t, err)
	var out []string
	for _, s := range seqs {
		out = append(out, filepath.Join(dir, segmentName(s)))
	}
	return out
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	must.NoError(t, err)
	return st.Size()
}

func corruptByte(t testing.TB, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	must.NoError(t, err)
	b[off] ^= 0x55
	must.NoError(t, os.WriteFile(path, b, 0o600))
}
