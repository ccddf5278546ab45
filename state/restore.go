package state

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rejoinhq/rejoin/structs"
)

// ReadSnapshot builds a fresh store from a snapshot stream. It returns the
// store only if the whole stream verifies: the header's magic and version,
// every record, and the trailer's counts and SHA-256; otherwise an error
// matching ErrCorruptSnapshot, ErrSnapshotVersion, structs.ErrDecode (a
// record that does not decode) or structs.ErrInvalidRequest (a record the
// store cannot hold, see LoadError), and no store. Records stream into one
// write transaction: memory is the store's plus one record.
func ReadSnapshot(r io.Reader, logger hclog.Logger) (*Store, SnapshotMeta, error) {
	s, err := NewStore(logger)
	if err != nil {
		return nil, SnapshotMeta{}, err
	}
	txn := s.db.Txn(true)
	defer txn.Abort()
	meta, err := readSnapshotInto(newLoader(txn), r)
	if err != nil {
		return nil, SnapshotMeta{}, err
	}
	txn.Commit()
	return s, meta, nil
}

// OpenSnapshotFile reads the snapshot file at path; see ReadSnapshot.
func OpenSnapshotFile(path string, logger hclog.Logger) (*Store, SnapshotMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, SnapshotMeta{}, fmt.Errorf("state: open snapshot: %w", err)
	}
	defer f.Close()
	return ReadSnapshot(f, logger)
}

// Restore replaces the store's whole contents with the snapshot's, only if
// it verifies wholly (see ReadSnapshot); on any error the store is
// unchanged. The snapshot is read into one write transaction that first
// empties every table: readers see the old state until it commits, and the
// commit fires every watch, so blocking queries re-run on the new state.
// Commands wait for the restore (it holds the write lock); the command sink
// is not called.
func (s *Store) Restore(r io.Reader) (SnapshotMeta, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	txn := s.db.Txn(true)
	defer txn.Abort()
	for name := range schema().Tables {
		if _, err := txn.DeleteAll(name, "id"); err != nil {
			return SnapshotMeta{}, fmt.Errorf("state: restore: clear %s: %w", name, err)
		}
	}
	meta, err := readSnapshotInto(newLoader(txn), r)
	if err != nil {
		return SnapshotMeta{}, err
	}
	txn.Commit()
	s.logger.Info("restored snapshot", "index", meta.Index, "created_at", meta.CreatedAt,
		"allocs", meta.Counts[countAllocs], "nodes", meta.Counts[countNodes])
	return meta, nil
}

// snapshotReader reads and checks one snapshot stream into a loader.
type snapshotReader struct {
	rr     *RecordReader
	dec    *codec.Decoder
	counts map[string]uint64
	start  int64 // offset of the current record
	// allocs decodes alloc records, sharing their repeated strings.
	allocs structs.AllocationDecoder
}

func corrupt(off int64, err error, format string, args ...any) error {
	return &SnapshotError{Kind: ErrCorruptSnapshot, Offset: off, Reason: fmt.Sprintf(format, args...), Err: err}
}

// A restore runs in two goroutines: one reads, hashes and decodes records
// (scan and msgpack decoding are about half the CPU), the other inserts
// them into the store; they overlap on a multi-core machine. Batches bound
// the memory in flight to a few thousand records.
const (
	restoreBatch    = 256 // records per hand-over
	restoreInFlight = 4   // batches decoded ahead of the inserts
)

// decodedRecord is one object record, decoded.
type decodedRecord struct {
	t     byte
	pos   int   // position within its table in the file
	start int64 // offset of the record, for errors
	obj   any
}

// decodedBatch is a run of records; err, if set, ends the stream after
// them (the first error in stream order). done is set on the last batch of
// a stream that verified, with the per-table counts.
type decodedBatch struct {
	recs    []decodedRecord
	err     error
	done    bool
	counts  map[string]uint64
	trailer int64 // offset of the trailer, with done
}

func readSnapshotInto(l *loader, r io.Reader) (SnapshotMeta, error) {
	h := sha256.New()
	sr := &snapshotReader{rr: NewRecordReader(r, 0, h),
		dec: codec.NewDecoderBytes(nil, structs.MsgpackHandle), counts: map[string]uint64{}}
	hdr, err := sr.header()
	if err != nil {
		return SnapshotMeta{}, err
	}
	out := make(chan decodedBatch, restoreInFlight)
	stop := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		sr.decodeAll(h, out, stop)
	}()
	defer func() {
		close(stop) // the decoder may be blocked handing over a batch
		<-exited
	}()

	var latest uint64
	var (
		counts    map[string]uint64
		trailerAt int64
	)
	for b := range out {
		for _, d := range b.recs {
			if err := l.load(d); err != nil {
				return SnapshotMeta{}, corrupt(d.start, err, "record")
			}
			if e, ok := d.obj.(*indexEntry); ok && d.t == recIndex && e.Key == latestKey {
				latest = e.Value
			}
		}
		if b.err != nil {
			return SnapshotMeta{}, b.err
		}
		if b.done {
			counts, trailerAt = b.counts, b.trailer
			break
		}
	}
	if err := l.finish(hdr.Index); err != nil {
		return SnapshotMeta{}, corrupt(trailerAt, err, "alloc watch")
	}
	if latest != hdr.Index {
		return SnapshotMeta{}, corrupt(trailerAt, nil, "header index %d but latest index row %d", hdr.Index, latest)
	}
	return SnapshotMeta{FormatVersion: hdr.FormatVersion, Index: hdr.Index, CreatedAt: hdr.CreatedAt,
		Counts: counts}, nil
}

// decodeAll reads, hashes and decodes every record after the header and
// checks the trailer, handing the records over in batches on out until
// the stream ends (a last batch with done or err) or stop is closed. It
// closes out when it returns.
func (sr *snapshotReader) decodeAll(h hash.Hash, out chan<- decodedBatch, stop <-chan struct{}) {
	defer close(out)
	batch := make([]decodedRecord, 0, restoreBatch)
	send := func(b decodedBatch) bool {
		select {
		case out <- b:
			return true
		case <-stop:
			return false
		}
	}
	fail := func(err error) { send(decodedBatch{recs: batch, err: err}) }
	for {
		sr.start = sr.rr.Offset()
		t, err := sr.rr.ReadType()
		if err != nil {
			fail(sr.readErr(err, "record type"))
			return
		}
		if t == recTrailer {
			// The hash has every byte before this type byte.
			if err := sr.trailer(h.Sum(nil)); err != nil {
				fail(err)
				return
			}
			send(decodedBatch{recs: batch, done: true, counts: sr.counts, trailer: sr.start})
			return
		}
		v, err := sr.rr.ReadValue()
		if err != nil {
			fail(sr.readErr(err, fmt.Sprintf("record type %d", t)))
			return
		}
		d, err := sr.record(t, v)
		if err != nil {
			fail(err)
			return
		}
		batch = append(batch, d)
		if len(batch) == restoreBatch {
			if !send(decodedBatch{recs: batch}) {
				return
			}
			batch = make([]decodedRecord, 0, restoreBatch)
		}
	}
}

// readErr turns a stream error into a typed one: running out of bytes is a
// truncated snapshot; an I/O error is returned as is (wrapped).
func (sr *snapshotReader) readErr(err error, what string) error {
	var ve *ValueError
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return corrupt(sr.start, err, "truncated in %s (no trailer)", what)
	case errors.As(err, &ve):
		return corrupt(sr.start, err, "%s", what)
	}
	return fmt.Errorf("state: read snapshot at offset %d: %w", sr.rr.Offset(), err)
}

// decode decodes one record value into v; a codec panic on hostile input
// is an error.
func (sr *snapshotReader) decode(b []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corrupt(sr.start, &structs.DecodeError{Type: fmt.Sprintf("%T", v), Err: fmt.Errorf("panic: %v", r)}, "record")
		}
	}()
	sr.dec.ResetBytes(b)
	if err := sr.dec.Decode(v); err != nil {
		return corrupt(sr.start, &structs.DecodeError{Type: fmt.Sprintf("%T", v), Err: err}, "record")
	}
	return nil
}

func (sr *snapshotReader) header() (*snapshotHeader, error) {
	t, err := sr.rr.ReadType()
	if err != nil {
		return nil, sr.readErr(err, "header")
	}
	if t != recHeader {
		return nil, corrupt(0, nil, "not a rejoin snapshot: first byte 0x%02x", t)
	}
	v, err := sr.rr.ReadValue()
	if err != nil {
		return nil, sr.readErr(err, "header")
	}
	var hdr snapshotHeader
	if err := sr.decode(v, &hdr); err != nil {
		return nil, err
	}
	if hdr.Magic != SnapshotMagic {
		return nil, corrupt(0, nil, "not a rejoin snapshot: magic %q", hdr.Magic)
	}
	if hdr.FormatVersion != SnapshotFormatVersion {
		return nil, &SnapshotError{Kind: ErrSnapshotVersion, Reason: fmt.Sprintf("version %d, this build reads %d", hdr.FormatVersion, SnapshotFormatVersion)}
	}
	return &hdr, nil
}

// record decodes one object record and counts it.
func (sr *snapshotReader) record(t byte, v []byte) (decodedRecord, error) {
	var (
		obj   any
		count string
	)
	switch t {
	case recNode:
		obj, count = new(structs.Node), countNodes
	case recJob:
		obj, count = new(structs.Job), countJobs
	case recAlloc:
		count = countAllocs
	case recEval:
		obj, count = new(structs.Evaluation), countEvals
	case recIndex:
		obj, count = new(indexEntry), countIndex
	case recWatch:
		obj, count = new(indexEntry), countWatch
	default:
		return decodedRecord{}, corrupt(sr.start, nil, "unknown record type 0x%02x", t)
	}
	if t == recAlloc {
		// The hot record: a hand-written decoder that falls back to the
		// codec for anything unusual (same result, same errors).
		a, err := sr.allocs.Decode(v)
		if err != nil {
			return decodedRecord{}, corrupt(sr.start, err, "record")
		}
		obj = a
	} else if err := sr.decode(v, obj); err != nil {
		return decodedRecord{}, err
	}
	d := decodedRecord{t: t, pos: int(sr.counts[count]), start: sr.start, obj: obj}
	sr.counts[count]++
	return d, nil
}

// load loads one decoded snapshot record.
func (l *loader) load(d decodedRecord) error {
	switch o := d.obj.(type) {
	case *structs.Node:
		return l.node(d.pos, o)
	case *structs.Job:
		return l.job(d.pos, o)
	case *structs.Allocation:
		return l.alloc(d.pos, o)
	case *structs.Evaluation:
		return l.eval(d.pos, o)
	case *indexEntry:
		if d.t == recWatch {
			if o.Key == "" {
				return &LoadError{Table: tableAllocWatch, Pos: d.pos, Reason: "empty key"}
			}
			return l.setWatch(o.Key, o.Value)
		}
		if o.Key == "" {
			return &LoadError{Table: tableIndex, Pos: d.pos, Reason: "empty key"}
		}
		return l.index(o.Key, o.Value)
	}
	return fmt.Errorf("state: load: unexpected record %T", d.obj)
}

// trailer checks the trailer against what was read, and that nothing
// follows it. sum is the SHA-256 of every byte before it.
func (sr *snapshotReader) trailer(sum []byte) error {
	v, err := sr.rr.ReadValue()
	if err != nil {
		return sr.readErr(err, "trailer")
	}
	var tr snapshotTrailer
	if err := sr.decode(v, &tr); err != nil {
		return err
	}
	if !bytes.Equal(tr.SHA256, sum) {
		return corrupt(sr.start, nil, "checksum mismatch: trailer %x, content %x", tr.SHA256, sum)
	}
	for k, n := range tr.Counts {
		if sr.counts[k] != n {
			return corrupt(sr.start, nil, "trailer counts %d %s, read %d", n, k, sr.counts[k])
		}
	}
	for k, n := range sr.counts {
		if tr.Counts[k] != n {
			return corrupt(sr.start, nil, "trailer counts %d %s, read %d", tr.Counts[k], k, n)
		}
	}
	if _, err := sr.rr.ReadType(); err != io.EOF {
		return corrupt(sr.rr.Offset(), err, "data after the trailer")
	}
	return nil
}
