package rpc

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/rejoinhq/rejoin/internal/mpscan"
	"github.com/rejoinhq/rejoin/structs"
)

// DefaultMaxMessageSize bounds one RPC message on the wire.
const DefaultMaxMessageSize = 8 << 20

// frameBufKeep is the largest frame buffer a connection keeps between
// messages; a rare big message does not pin its memory for the
// connection's lifetime.
const frameBufKeep = 64 << 10

// FrameError is a message the transport refused to decode: larger than the
// size limit, or not well-formed msgpack. The connection that carried it is
// closed.
type FrameError struct {
	// TooLarge is set when the message (or a length it declares) exceeds Limit.
	TooLarge bool
	Limit    int
	Reason   string
}

func (e *FrameError) Error() string {
	if e.TooLarge {
		return fmt.Sprintf("rpc message exceeds the %d byte limit: %s", e.Limit, e.Reason)
	}
	return "malformed rpc message: " + e.Reason
}

// Is makes an oversized message match structs.ErrInvalidRequest and a
// malformed one structs.ErrDecode.
func (e *FrameError) Is(target error) bool {
	if e.TooLarge {
		return target == structs.ErrInvalidRequest
	}
	return target == structs.ErrDecode
}

// frameConn gives the msgpack RPC codec exactly one whole message at a
// time. msgpack-rpc has no length prefix and the codec allocates whatever
// length a string header declares, so a hostile 4 GiB header would be
// honoured before a byte of it arrived. frameConn walks each message's
// structure first (headers only, no decoding), refuses it as soon as it or
// any length it declares would pass the limit, and keeps the bytes it has
// actually received; the codec then decodes from that buffer.
//
// It implements Flush and Buffered so that the codec adds no buffering of
// its own (which would read past the current message), and io.ByteScanner
// so the decoder reads it byte-wise without another layer.
type frameConn struct {
	rwc   io.ReadWriteCloser
	br    *bufio.Reader
	bw    *bufio.Writer
	limit int

	buf []byte // the current message
	pos int    // read position in buf
}

func newFrameConn(rwc io.ReadWriteCloser, limit int) *frameConn {
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	return &frameConn{
		rwc:   rwc,
		br:    bufio.NewReaderSize(rwc, 16<<10),
		bw:    bufio.NewWriterSize(rwc, 16<<10),
		limit: limit,
	}
}

// Read serves the current message and loads the next one only when the
// current one is used up, so it never blocks while a message has bytes left.
func (f *frameConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if f.pos >= len(f.buf) {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, f.buf[f.pos:])
	f.pos += n
	return n, nil
}

// ReadByte implements io.ByteScanner.
func (f *frameConn) ReadByte() (byte, error) {
	if f.pos >= len(f.buf) {
		if err := f.next(); err != nil {
			return 0, err
		}
	}
	b := f.buf[f.pos]
	f.pos++
	return b, nil
}

// UnreadByte implements io.ByteScanner.
func (f *frameConn) UnreadByte() error {
	if f.pos == 0 {
		return errors.New("rpc: frame: no byte to unread")
	}
	f.pos--
	return nil
}

// remaining is how many bytes of the current message are not yet read.
func (f *frameConn) remaining() int { return len(f.buf) - f.pos }

// Buffered tells the codec the reader is buffered already.
func (f *frameConn) Buffered() int { return f.remaining() }

func (f *frameConn) Write(p []byte) (int, error) { return f.bw.Write(p) }

// Flush tells the codec the writer is buffered already; it flushes each
// message once.
func (f *frameConn) Flush() error { return f.bw.Flush() }

func (f *frameConn) Close() error { return f.rwc.Close() }

func (f *frameConn) tooLarge(format string, args ...any) error {
	return &FrameError{TooLarge: true, Limit: f.limit, Reason: fmt.Sprintf(format, args...)}
}

// next reads one complete msgpack value into buf. It returns io.EOF only
// when the stream ends cleanly between messages.
//
// Values that lie whole in the reader's buffer are walked there and copied
// in one piece (scanBuffered); a value that crosses the buffer's end is read
// header by header (readValue), which makes the reader fetch more.
func (f *frameConn) next() error {
	if cap(f.buf) > frameBufKeep {
		f.buf = nil
	}
	f.buf, f.pos = f.buf[:0], 0
	pending := uint64(1) // values still to read; each takes at least one byte
	for pending > 0 {
		if err := f.scanBuffered(&pending); err != nil || pending == 0 {
			return err
		}
		if err := f.readValue(&pending); err != nil {
			return err
		}
	}
	return nil
}

func (f *frameConn) invalidByte(b byte) error {
	return &FrameError{Limit: f.limit, Reason: fmt.Sprintf("invalid msgpack byte 0x%02x", b)}
}

// scanBuffered walks the values that lie whole in the reader's buffer,
// with the same limits as readValue, and moves their bytes to buf.
func (f *frameConn) scanBuffered(pending *uint64) error {
	avail, _ := f.br.Peek(f.br.Buffered())
	limit := uint64(f.limit)
	i := 0
	var err error
	for *pending > 0 && i < len(avail) {
		b := avail[i]
		h, ok := mpscan.Classify(b)
		if !ok {
			err = f.invalidByte(b)
			break
		}
		hdr := 1 + h.LenBytes
		if i+hdr > len(avail) {
			break
		}
		skip, nested := h.Sized(mpscan.Length(avail[i+1 : i+hdr]))
		size := uint64(len(f.buf) + i + hdr)
		if size+skip > limit {
			err = f.tooLarge("declares %d more bytes after %d", skip, size)
			break
		}
		if uint64(i+hdr)+skip > uint64(len(avail)) {
			break
		}
		i += hdr + int(skip)
		*pending += nested - 1
		if size := uint64(len(f.buf) + i); *pending > limit-size {
			err = f.tooLarge("declares %d more values after %d bytes", *pending, size)
			break
		}
	}
	f.buf = append(f.buf, avail[:i]...)
	_, _ = f.br.Discard(i) // i bytes are buffered: it cannot fail
	return err
}

// readValue reads one value's header, and the payload that follows it,
// from the stream.
func (f *frameConn) readValue(pending *uint64) error {
	limit := uint64(f.limit)
	b, err := f.br.ReadByte()
	if err != nil {
		if err == io.EOF && len(f.buf) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	f.buf = append(f.buf, b)
	h, ok := mpscan.Classify(b)
	if !ok {
		return f.invalidByte(b)
	}
	var n uint64
	if h.LenBytes > 0 {
		start := len(f.buf)
		if err := f.appendN(h.LenBytes); err != nil {
			return err
		}
		n = mpscan.Length(f.buf[start:])
	}
	skip, nested := h.Sized(n)
	if size := uint64(len(f.buf)); size+skip > limit {
		return f.tooLarge("declares %d more bytes after %d", skip, size)
	}
	if skip > 0 {
		if err := f.appendN(int(skip)); err != nil {
			return err
		}
	}
	*pending += nested - 1
	if size := uint64(len(f.buf)); *pending > limit-size {
		return f.tooLarge("declares %d more values after %d bytes", *pending, size)
	}
	return nil
}

// appendN appends the next n bytes of the stream to buf (mpscan.AppendN:
// the buffer grows with the bytes that arrive, never by a declared length).
func (f *frameConn) appendN(n int) error {
	var err error
	f.buf, err = mpscan.AppendN(f.buf, f.br, n)
	return err
}
