package mpscan

import (
	"io"
	"slices"
)

// appendChunk bounds how far dst grows ahead of the bytes that arrived.
const appendChunk = 32 << 10

// AppendN appends the next n bytes of r to dst. dst grows with the bytes
// that actually arrive, a chunk at a time, never by n alone: a hostile
// length field cannot make it allocate what the stream does not hold. A
// stream that ends early gives io.ErrUnexpectedEOF, with the bytes read so
// far appended.
func AppendN(dst []byte, r io.Reader, n int) ([]byte, error) {
	for n > 0 {
		chunk := min(n, appendChunk)
		dst = slices.Grow(dst, chunk)
		l := len(dst)
		m, err := io.ReadFull(r, dst[l:l+chunk])
		dst = dst[:l+m]
		n -= m
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}
