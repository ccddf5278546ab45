package state

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
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
	l      *loader
	dec    *codec.Decoder
	counts map[string]uint64
	start  int64 // offset of the current record
}

func corrupt(off int64, err error, format string, args ...any) error {
	return &SnapshotError{Kind: ErrCorruptSnapshot, Offset: off, Reason: fmt.Sprintf(format, args...), Err: err}
}

func readSnapshotInto(l *loader, r io.Reader) (SnapshotMeta, error) {
	h := sha256.New()
	sr := &snapshotReader{rr: NewRecordReader(r, 0, h), l: l,
		dec: codec.NewDecoderBytes(nil, structs.MsgpackHandle), counts: map[string]uint64{}}
	hdr, err := sr.header()
	if err != nil {
		return SnapshotMeta{}, err
	}
	var latest uint64
	for {
		sr.start = sr.rr.Offset()
		t, err := sr.rr.ReadType()
		if err != nil {
			return SnapshotMeta{}, sr.readErr(err, "record type")
		}
		if t == recTrailer {
			// The hash has every byte before this type byte.
			if err := sr.trailer(h.Sum(nil)); err != nil {
				return SnapshotMeta{}, err
			}
			break
		}
		v, err := sr.rr.ReadValue()
		if err != nil {
			return SnapshotMeta{}, sr.readErr(err, fmt.Sprintf("record type %d", t))
		}
		idx, err := sr.record(t, v)
		if err != nil {
			return SnapshotMeta{}, err
		}
		if idx != nil && idx.Key == latestKey {
			latest = idx.Value
		}
	}
	if err := l.finish(hdr.Index); err != nil {
		return SnapshotMeta{}, corrupt(sr.start, err, "alloc watch")
	}
	if latest != hdr.Index {
		return SnapshotMeta{}, corrupt(sr.start, nil, "header index %d but latest index row %d", hdr.Index, latest)
	}
	return SnapshotMeta{FormatVersion: hdr.FormatVersion, Index: hdr.Index, CreatedAt: hdr.CreatedAt,
		Counts: sr.counts}, nil
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

// record decodes one object record and loads it. It returns index rows, so
// the caller can check the latest one against the header.
func (sr *snapshotReader) record(t byte, v []byte) (*indexEntry, error) {
	var (
		obj   any
		count string
		load  func() error
	)
	pos := func() int { return int(sr.counts[count]) }
	switch t {
	case recNode:
		n := new(structs.Node)
		obj, count, load = n, countNodes, func() error { return sr.l.node(pos(), n) }
	case recJob:
		j := new(structs.Job)
		obj, count, load = j, countJobs, func() error { return sr.l.job(pos(), j) }
	case recAlloc:
		a := new(structs.Allocation)
		obj, count, load = a, countAllocs, func() error { return sr.l.alloc(pos(), a) }
	case recEval:
		e := new(structs.Evaluation)
		obj, count, load = e, countEvals, func() error { return sr.l.eval(pos(), e) }
	case recIndex, recWatch:
		e := new(indexEntry)
		obj, count, load = e, countIndex, func() error {
			if e.Key == "" {
				return &LoadError{Table: tableIndex, Pos: pos(), Reason: "empty key"}
			}
			return sr.l.index(e.Key, e.Value)
		}
		if t == recWatch {
			count = countWatch
			load = func() error {
				if e.Key == "" {
					return &LoadError{Table: tableAllocWatch, Pos: pos(), Reason: "empty key"}
				}
				return sr.l.setWatch(e.Key, e.Value)
			}
		}
	default:
		return nil, corrupt(sr.start, nil, "unknown record type 0x%02x", t)
	}
	if err := sr.decode(v, obj); err != nil {
		return nil, err
	}
	if err := load(); err != nil {
		return nil, corrupt(sr.start, err, "record")
	}
	sr.counts[count]++
	if t == recIndex {
		return obj.(*indexEntry), nil
	}
	return nil, nil
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
