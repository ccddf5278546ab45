package state

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/shoenig/test/must"
)

// readAllRecords reads records until an error, returning each value's bytes
// and offset, and the final error.
func readAllRecords(rr *RecordReader) (vals [][]byte, offs []int64, err error) {
	for {
		_, v, err := rr.Next()
		offs = append(offs, rr.Offset())
		if err != nil {
			return vals, offs, err
		}
		vals = append(vals, bytes.Clone(v))
	}
}

// FuzzRecordReaderWindow: a value measured in the buffered bytes
// (scanBuffered) reads exactly as one read a byte at a time (scan): same
// records, offsets and errors, whatever the input and the limit.
func FuzzRecordReaderWindow(f *testing.F) {
	f.Add(persist(f, genStore(f, 3)), uint16(0))
	f.Add(persist(f, genStore(f, 3)), uint16(40))
	f.Add([]byte{4, 0xdb, 0xff, 0xff, 0xff, 0xff}, uint16(0))
	f.Add([]byte{4, 0x92, 0xa1, 'x', 0xc1}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		fast, fastOffs, fastErr := readAllRecords(NewRecordReader(bytes.NewReader(data), int(limit), nil))
		// One byte per read: the buffer never holds a whole value, so
		// every value takes scan.
		slow, slowOffs, slowErr := readAllRecords(NewRecordReader(iotest.OneByteReader(bytes.NewReader(data)), int(limit), nil))
		must.Eq(t, slow, fast)
		must.Eq(t, slowOffs, fastOffs)
		must.Eq(t, errors.Is(slowErr, io.EOF), errors.Is(fastErr, io.EOF))
		must.Eq(t, slowErr.Error(), fastErr.Error())
	})
}
