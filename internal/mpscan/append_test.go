package mpscan

import (
	"bytes"
	"io"
	"testing"

	"github.com/shoenig/test/must"
)

func TestAppendN(t *testing.T) {
	src := bytes.Repeat([]byte("abcdefgh"), 10_000) // 80,000 bytes: several chunks
	got, err := AppendN([]byte("x"), bytes.NewReader(src), len(src))
	must.NoError(t, err)
	must.Eq(t, append([]byte("x"), src...), got)

	// A stream shorter than the declared length: the bytes that arrived,
	// and an unexpected EOF; capacity follows the data, not the claim.
	got, err = AppendN(nil, bytes.NewReader(src[:100]), 1<<30)
	must.ErrorIs(t, err, io.ErrUnexpectedEOF)
	must.Eq(t, src[:100], got)
	must.LessEq(t, appendChunk, cap(got))
	must.Less(t, 1<<20, cap(got))

	got, err = AppendN([]byte("y"), bytes.NewReader(nil), 0)
	must.NoError(t, err)
	must.Eq(t, []byte("y"), got)
}
