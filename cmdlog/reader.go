package cmdlog

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// ErrCorruptLog matches every *CorruptError.
var ErrCorruptLog = errors.New("corrupt command log")

// ErrIndexOrder: a record whose index is not above the previous one's.
var ErrIndexOrder = errors.New("command log index not increasing")

// CorruptError is a log that does not check out at byte Offset of Segment
// (the start of the bad record). It matches ErrCorruptLog.
type CorruptError struct {
	Segment string
	Offset  int64
	Reason  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("%v: %s at offset %d: %s", ErrCorruptLog, e.Segment, e.Offset, e.Reason)
}

// Is makes the error match ErrCorruptLog.
func (e *CorruptError) Is(target error) bool { return target == ErrCorruptLog }

// tornError is a partial record at the end of a segment: a torn write if it
// is the last segment, corruption otherwise.
type tornError struct {
	offset int64
	reason string
}

func (e *tornError) Error() string { return fmt.Sprintf("torn record at %d: %s", e.offset, e.reason) }

// segmentReader reads one segment's records.
type segmentReader struct {
	name string
	br   *bufio.Reader
	off  int64 // offset of the next record
	size int64 // file size
	body []byte
}

func openSegment(path, name string) (*os.File, *segmentReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	sr := &segmentReader{name: name, br: bufio.NewReaderSize(f, 256<<10), size: st.Size()}
	if err := sr.magic(); err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, sr, nil
}

func (sr *segmentReader) magic() error {
	var m [len(segmentMagic)]byte
	n, err := io.ReadFull(sr.br, m[:])
	switch {
	case err != nil && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)):
		return &tornError{offset: 0, reason: fmt.Sprintf("segment header cut at %d bytes", n)}
	case err != nil:
		return err
	case string(m[:]) != segmentMagic:
		return &CorruptError{Segment: sr.name, Offset: 0, Reason: fmt.Sprintf("bad magic %q", m[:])}
	}
	sr.off = int64(len(segmentMagic))
	return nil
}

// next reads one record; io.EOF at a clean end. The record's payload is
// valid until the next call. A record cut short by the end of the file is
// a *tornError, and so is a bad checksum on the very last record (a write
// the crash interrupted); any other problem is a *CorruptError.
func (sr *segmentReader) next() (Record, error) {
	var hdr [headerSize]byte
	n, err := io.ReadFull(sr.br, hdr[:])
	switch {
	case err == io.EOF:
		return Record{}, io.EOF
	case err == io.ErrUnexpectedEOF:
		return Record{}, &tornError{offset: sr.off, reason: fmt.Sprintf("header cut at %d bytes", n)}
	case err != nil:
		return Record{}, err
	}
	length := binary.LittleEndian.Uint32(hdr[:])
	sum := binary.LittleEndian.Uint32(hdr[4:])
	end := sr.off + headerSize + int64(length)
	switch {
	case length < fixedBody || length > MaxRecordSize:
		// Our writer never wrote this length. If nothing but zeros
		// follows, the file was extended but the data never landed (a
		// crash): a torn tail. Otherwise the log is damaged.
		if sr.zerosToEnd(hdr[:]) {
			return Record{}, &tornError{offset: sr.off, reason: fmt.Sprintf("zeroed tail (length %d)", length)}
		}
		return Record{}, &CorruptError{Segment: sr.name, Offset: sr.off, Reason: fmt.Sprintf("bad record length %d", length)}
	case end > sr.size:
		return Record{}, &tornError{offset: sr.off, reason: fmt.Sprintf("record of %d bytes cut at %d", length, sr.size-sr.off-headerSize)}
	}
	if cap(sr.body) < int(length) || cap(sr.body) > 1<<20 && int(length) < 1<<20 {
		sr.body = make([]byte, length, max(int(length), 4<<10))
	}
	sr.body = sr.body[:length]
	if _, err := io.ReadFull(sr.br, sr.body); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return Record{}, &tornError{offset: sr.off, reason: "file shrank while reading"}
		}
		return Record{}, err
	}
	if crc32.Checksum(sr.body, castagnoli) != sum {
		if end == sr.size {
			return Record{}, &tornError{offset: sr.off, reason: "checksum mismatch on the last record"}
		}
		return Record{}, &CorruptError{Segment: sr.name, Offset: sr.off, Reason: "checksum mismatch"}
	}
	rec := decodeBody(sr.body)
	sr.off = end
	return rec, nil
}

// zerosToEnd reports whether hdr and the rest of the segment are all zero
// bytes. It consumes the reader (the caller stops either way).
func (sr *segmentReader) zerosToEnd(hdr []byte) bool {
	for _, b := range hdr {
		if b != 0 {
			return false
		}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := sr.br.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err != nil {
			return errors.Is(err, io.EOF)
		}
	}
}

// ReadDir calls fn for every record of the log in dir, in order. A torn
// tail (partial last record of the last segment) is ignored, as Open would
// truncate it; any other damage, or an index not above the previous one,
// is a *CorruptError. An error from fn stops the walk and is returned as
// is. The record's Payload is valid only during the call.
func ReadDir(dir string, fn func(Record) error) error {
	var torn *tornError
	return scanDir(dir, fn, &torn)
}

// scanDir walks every segment of dir. A torn tail in the last segment ends
// the walk without error and is reported through torn (its offset is the
// end of the last good record).
func scanDir(dir string, fn func(Record) error, torn **tornError) error {
	seqs, err := segments(dir)
	if err != nil {
		return fmt.Errorf("cmdlog: %w", err)
	}
	var last uint64
	var seen bool
	for i, seq := range seqs {
		t, err := walkSegment(dir, seq, i == len(seqs)-1, func(rec Record, off int64) error {
			if seen && rec.Index <= last {
				return &CorruptError{Segment: segmentName(seq), Offset: off,
					Reason: fmt.Sprintf("%v: %d after %d", ErrIndexOrder, rec.Index, last)}
			}
			last, seen = rec.Index, true
			return fn(rec)
		})
		if err != nil {
			return err
		}
		if t != nil {
			*torn = t
			return nil
		}
	}
	return nil
}

// walkSegment calls fn with every record of segment seq in order, and the
// offset it starts at. A torn tail ends the walk: it is returned as torn
// when newest says the segment is the log's last (where Open truncates
// it), and as a *CorruptError otherwise. An error from fn is returned as is.
func walkSegment(dir string, seq uint64, newest bool, fn func(rec Record, off int64) error) (torn *tornError, err error) {
	name := segmentName(seq)
	classify := func(te *tornError) (*tornError, error) {
		if newest {
			return te, nil
		}
		return nil, &CorruptError{Segment: name, Offset: te.offset, Reason: te.reason}
	}
	var te *tornError
	f, sr, err := openSegment(segmentPath(dir, seq), name)
	switch {
	case errors.As(err, &te):
		return classify(te)
	case err != nil:
		return nil, fmt.Errorf("cmdlog: %w", err)
	}
	defer f.Close()
	for {
		off := sr.off
		rec, err := sr.next()
		switch {
		case err == io.EOF:
			return nil, nil
		case errors.As(err, &te):
			return classify(te)
		case err != nil:
			return nil, err
		}
		if err := fn(rec, off); err != nil {
			return nil, err
		}
	}
}
