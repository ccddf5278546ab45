package state

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rejoinhq/rejoin/structs"
)

// Snapshot file format, version 1. Every record is one type byte followed
// by one msgpack value (Nomad's state.bin framing, so RecordReader reads
// both):
//
//	header   {Magic "REJOINSNAP", FormatVersion, Index, CreatedAt}
//	nodes    in ID order
//	jobs     in namespace, ID order
//	allocs   in ID order
//	evals    in ID order
//	index    {Key, Value} rows: "nodes", "allocs", "jobs", "evals", "latest"
//	watch    {Key, Value} rows of the internal alloc_watch table
//	trailer  {Counts, SHA256}: records per type, and the SHA-256 of every
//	         byte before the trailer's type byte
//
// The object type bytes are Nomad's (node 0, job 1, index 2, eval 3, alloc
// 4); rejoin's own records use bytes Nomad does not.
const (
	SnapshotMagic         = "REJOINSNAP"
	SnapshotFormatVersion = 1

	recNode    byte = 0
	recJob     byte = 1
	recIndex   byte = 2
	recEval    byte = 3
	recAlloc   byte = 4
	recWatch   byte = 0xF1
	recHeader  byte = 0xF0
	recTrailer byte = 0xFF
)

// Count keys of SnapshotMeta.Counts, one per record type.
const (
	countNodes  = TableNodes
	countJobs   = TableJobs
	countAllocs = TableAllocs
	countEvals  = TableEvals
	countIndex  = tableIndex
	countWatch  = tableAllocWatch
)

// SnapshotMeta describes a snapshot file. Counts has the number of records
// of each type: "nodes", "jobs", "allocs", "evals", and the internal
// "index" and "alloc_watch".
type SnapshotMeta struct {
	FormatVersion uint32
	Index         uint64
	CreatedAt     time.Time
	Counts        map[string]uint64
}

type snapshotHeader struct {
	Magic         string
	FormatVersion uint32
	Index         uint64
	CreatedAt     time.Time
}

type snapshotTrailer struct {
	Counts map[string]uint64
	SHA256 []byte
}

// snapshotHandle writes maps in key order, so the same state always gives
// the same bytes. Decoding uses structs.MsgpackHandle (the two read alike).
var snapshotHandle = structs.CanonicalMsgpackHandle

// snapshotWriter writes records to a buffered, hashed stream.
type snapshotWriter struct {
	bw     *bufio.Writer
	sum    io.Writer // the hash, fed the same bytes as bw
	buf    []byte
	enc    *codec.Encoder
	counts map[string]uint64
}

func (w *snapshotWriter) record(t byte, count string, v any) error {
	w.enc.ResetBytes(&w.buf) // encodes from the start of buf, reusing it
	if err := w.enc.Encode(v); err != nil {
		return fmt.Errorf("state: snapshot encode %T: %w", v, err)
	}
	if count != "" {
		w.counts[count]++
	}
	if err := w.write([]byte{t}); err != nil {
		return err
	}
	return w.write(w.buf)
}

func (w *snapshotWriter) write(b []byte) error {
	w.sum.Write(b)
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("state: snapshot write: %w", err)
	}
	return nil
}

// Persist writes the snapshot's view to w in the snapshot file format. It
// streams: memory is bounded by one record, not by the file. createdAt is
// an input (callers pass their clock's Now), so persisting the same view
// twice gives byte-identical output.
func (sn *Snapshot) Persist(w io.Writer, createdAt time.Time) (SnapshotMeta, error) {
	h := sha256.New()
	sw := &snapshotWriter{bw: bufio.NewWriterSize(w, 256<<10), sum: h, counts: map[string]uint64{}}
	sw.enc = codec.NewEncoderBytes(&sw.buf, snapshotHandle)
	meta := SnapshotMeta{FormatVersion: SnapshotFormatVersion, Index: sn.LatestIndex(), CreatedAt: createdAt}
	if err := sw.record(recHeader, "", &snapshotHeader{Magic: SnapshotMagic,
		FormatVersion: meta.FormatVersion, Index: meta.Index, CreatedAt: createdAt}); err != nil {
		return SnapshotMeta{}, err
	}
	for _, tbl := range []struct {
		name  string
		t     byte
		count string
	}{
		{TableNodes, recNode, countNodes},
		{TableJobs, recJob, countJobs},
		{TableAllocs, recAlloc, countAllocs},
		{TableEvals, recEval, countEvals},
		{tableIndex, recIndex, countIndex},
		{tableAllocWatch, recWatch, countWatch},
	} {
		if err := sn.persistTable(sw, tbl.name, tbl.t, tbl.count); err != nil {
			return SnapshotMeta{}, err
		}
	}
	// The trailer's own type byte is not covered by the hash it carries.
	sum := h.Sum(nil)
	if err := sw.record(recTrailer, "", &snapshotTrailer{Counts: sw.counts, SHA256: sum}); err != nil {
		return SnapshotMeta{}, err
	}
	if err := sw.bw.Flush(); err != nil {
		return SnapshotMeta{}, fmt.Errorf("state: snapshot write: %w", err)
	}
	meta.Counts = sw.counts
	return meta, nil
}

func (sn *Snapshot) persistTable(sw *snapshotWriter, table string, t byte, count string) error {
	it, err := sn.txn.Get(table, "id")
	if err != nil {
		return fmt.Errorf("state: snapshot %s: %w", table, err)
	}
	return eachRow(it, func(raw any) error { return sw.record(t, count, raw) })
}

func eachRow(it memdb.ResultIterator, fn func(any) error) error {
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if err := fn(raw); err != nil {
			return err
		}
	}
	return nil
}

// SaveSnapshotFile writes the store's current state to path atomically: to
// a temporary file in the same directory, fsynced, renamed over path, then
// the directory fsynced so the rename survives a crash. On error path is
// untouched and the temporary file removed.
func (s *Store) SaveSnapshotFile(path string, createdAt time.Time) (meta SnapshotMeta, err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return SnapshotMeta{}, fmt.Errorf("state: save snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if meta, err = s.Snapshot().Persist(f, createdAt); err != nil {
		return SnapshotMeta{}, err
	}
	if err = f.Sync(); err != nil {
		return SnapshotMeta{}, fmt.Errorf("state: save snapshot: fsync: %w", err)
	}
	if err = f.Close(); err != nil {
		return SnapshotMeta{}, fmt.Errorf("state: save snapshot: %w", err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return SnapshotMeta{}, fmt.Errorf("state: save snapshot: %w", err)
	}
	if err = syncDir(dir); err != nil {
		return SnapshotMeta{}, fmt.Errorf("state: save snapshot: fsync dir: %w", err)
	}
	return meta, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
