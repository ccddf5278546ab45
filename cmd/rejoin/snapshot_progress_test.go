package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestProgress_OnlyOnATerminal(t *testing.T) {
	must.Nil(t, newProgress(&bytes.Buffer{}, "x"))
	r, w, err := os.Pipe()
	must.NoError(t, err)
	defer r.Close()
	defer w.Close()
	must.Nil(t, newProgress(w, "x"), must.Sprint("a pipe is not a terminal"))
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	must.NoError(t, err)
	defer f.Close()
	must.Nil(t, newProgress(f, "x"), must.Sprint("a regular file is not a terminal"))
}

func TestProgress_Meter(t *testing.T) {
	var b bytes.Buffer
	p := &progress{w: &b, label: "reading f", start: time.Now().Add(-2 * time.Second), last: time.Now().Add(-time.Second)}
	p.update(1000, 50, 200)
	must.StrContains(t, b.String(), "\rreading f: 1000 records (")
	must.StrContains(t, b.String(), "records/s), 25.0%")
	// Rate-limited: an update right after is dropped, but the final one
	// (offset == total) always shows.
	n := b.Len()
	p.update(1001, 60, 200)
	must.Eq(t, n, b.Len())
	p.update(0, 200, 200)
	must.StrContains(t, b.String()[n:], "MB/s), 100.0%")
	p.done()
	must.True(t, strings.HasSuffix(b.String(), "\n"))
}
