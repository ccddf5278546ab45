package state

import (
	"bufio"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/rejoinhq/rejoin/internal/mpscan"
)

// DefaultMaxRecordSize bounds one snapshot record's msgpack value. The
// largest real record, a job, is kilobytes; the bound is a sanity check
// that makes a hostile length fail fast instead of allocating.
const DefaultMaxRecordSize = 64 << 20

// RecordReader reads the framing shared by rejoin snapshots and Nomad's
// state.bin: records of one type byte followed by one msgpack value, with
// no length prefix. msgpack values declare lengths (a str32 header can
// claim 4 GiB) and the codec, reading from a stream, would allocate them
// before the bytes arrived; so RecordReader walks each value's structure
// first (headers only) and collects the bytes that actually arrive, up to a
// limit. The codec then decodes from those bytes.
type RecordReader struct {
	br    *bufio.Reader
	limit uint64
	// hash, if set, receives every byte read: a type byte together with
	// its value (see ReadType).
	hash   hash.Hash
	typ    [1]byte
	hasTyp bool  // typ is read but not yet hashed
	offset int64 // bytes consumed so far
	buf    []byte
}

// NewRecordReader reads records from r; limit bounds one value (0 =
// DefaultMaxRecordSize). h, if not nil, receives every byte read.
func NewRecordReader(r io.Reader, limit int, h hash.Hash) *RecordReader {
	if limit <= 0 {
		limit = DefaultMaxRecordSize
	}
	br, ok := r.(*bufio.Reader)
	if !ok || br.Size() < 64<<10 {
		br = bufio.NewReaderSize(r, 256<<10)
	}
	return &RecordReader{br: br, limit: uint64(limit), hash: h}
}

// Offset is the number of bytes consumed so far: after Next, the offset of
// the next record.
func (rr *RecordReader) Offset() int64 { return rr.offset }

// ReadType reads a record's type byte. It returns io.EOF only when the
// stream ends cleanly before it. The byte goes to the hash with the value
// that follows (ReadValue), so a reader can take the hash of everything
// before a record once it knows the record's type.
func (rr *RecordReader) ReadType() (byte, error) {
	b, err := rr.br.ReadByte()
	if err != nil {
		return 0, err
	}
	rr.offset++
	rr.typ[0], rr.hasTyp = b, true
	return b, nil
}

// ReadValue reads one whole msgpack value and returns its bytes, valid
// until the next call. A stream ending inside it is io.ErrUnexpectedEOF; a
// value (or a length it declares) over the limit, or an invalid byte, is a
// *ValueError.
func (rr *RecordReader) ReadValue() ([]byte, error) {
	if cap(rr.buf) > 1<<20 {
		rr.buf = nil // a rare big record does not pin its memory
	}
	rr.buf = rr.buf[:0]
	var err error
	if n := rr.scanBuffered(); n > 0 {
		// Whole value already buffered: one copy instead of a read per
		// header.
		w, _ := rr.br.Peek(n)
		rr.buf = append(rr.buf, w...)
		rr.br.Discard(n)
	} else {
		err = rr.scan()
	}
	rr.offset += int64(len(rr.buf))
	if rr.hash != nil {
		if rr.hasTyp {
			rr.hash.Write(rr.typ[:])
		}
		rr.hash.Write(rr.buf)
	}
	rr.hasTyp = false
	if err != nil {
		return nil, err
	}
	return rr.buf, nil
}

// ValueError is a msgpack value RecordReader refused: larger than its
// limit, or not well-formed.
type ValueError struct {
	TooLarge bool
	Reason   string
}

func (e *ValueError) Error() string {
	if e.TooLarge {
		return "msgpack value too large: " + e.Reason
	}
	return "malformed msgpack value: " + e.Reason
}

// Next reads one record. It returns io.EOF only at a clean end of stream.
func (rr *RecordReader) Next() (byte, []byte, error) {
	t, err := rr.ReadType()
	if err != nil {
		return 0, nil, err
	}
	v, err := rr.ReadValue()
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return t, v, err
}

// scan appends one msgpack value to buf, walking its headers.
func (rr *RecordReader) scan() error {
	pending := uint64(1) // values still to read; each takes at least one byte
	for pending > 0 {
		b, err := rr.br.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		rr.buf = append(rr.buf, b)
		pending--
		h, ok := mpscan.Classify(b)
		if !ok {
			return &ValueError{Reason: fmt.Sprintf("invalid byte 0x%02x", b)}
		}
		var n uint64
		if h.LenBytes > 0 {
			start := len(rr.buf)
			if err := rr.appendN(h.LenBytes); err != nil {
				return err
			}
			n = mpscan.Length(rr.buf[start:])
		}
		skip, nested := h.Sized(n)
		pending += nested
		size := uint64(len(rr.buf))
		if size+skip > rr.limit {
			return &ValueError{TooLarge: true, Reason: fmt.Sprintf("declares %d more bytes after %d (limit %d)", skip, size, rr.limit)}
		}
		if skip > 0 {
			if err := rr.appendN(int(skip)); err != nil {
				return err
			}
		}
		if pending > rr.limit-uint64(len(rr.buf)) {
			return &ValueError{TooLarge: true, Reason: fmt.Sprintf("declares %d more values after %d bytes (limit %d)", pending, len(rr.buf), rr.limit)}
		}
	}
	return nil
}

// appendN appends the next n bytes of the stream to buf (mpscan.AppendN:
// the buffer grows with the bytes that arrive, never by a declared length).
func (rr *RecordReader) appendN(n int) error {
	var err error
	rr.buf, err = mpscan.AppendN(rr.buf, rr.br, n)
	return err
}

// scanBuffered measures one msgpack value in the bytes the bufio.Reader
// already holds, without consuming them, and returns its size; 0 when the
// value does not end within them or is not one scan would accept (an
// invalid byte, over the limit): scan then reads it the slow way and gives
// the same bytes or the same error. Headers are walked as scan walks them.
func (rr *RecordReader) scanBuffered() int {
	w, _ := rr.br.Peek(rr.br.Buffered())
	if uint64(len(w)) > rr.limit {
		w = w[:rr.limit]
	}
	i := 0
	// Every iteration consumes a byte of w, so the loop ends within it
	// however many values the headers declare.
	for pending := uint64(1); pending > 0; pending-- {
		if i >= len(w) {
			return 0
		}
		b := w[i]
		i++
		// The common one-byte headers first, without Classify.
		switch {
		case b <= 0x7f, b >= 0xe0, b == 0xc0, b == 0xc2, b == 0xc3:
			continue
		case b&0xe0 == 0xa0: // fixstr
			i += int(b & 0x1f)
			continue
		case b&0xf0 == 0x80: // fixmap
			pending += 2 * uint64(b&0x0f)
			continue
		case b&0xf0 == 0x90: // fixarray
			pending += uint64(b & 0x0f)
			continue
		}
		h, ok := mpscan.Classify(b)
		if !ok {
			return 0
		}
		var n uint64
		if h.LenBytes > 0 {
			if h.LenBytes > len(w)-i {
				return 0
			}
			n = mpscan.Length(w[i : i+h.LenBytes])
			i += h.LenBytes
		}
		skip, nested := h.Sized(n)
		if skip > uint64(len(w)-i) {
			return 0
		}
		i += int(skip)
		pending += nested
	}
	if i > len(w) { // a fixstr ran past the window
		return 0
	}
	return i
}
