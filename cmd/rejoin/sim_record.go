package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"

	"github.com/rejoinhq/rejoin/structs"
	"github.com/rejoinhq/rejoin/testutil"
)

// The --record format. The state package has no snapshot or command-log
// writer yet, so `rejoin sim --record DIR` writes the store's command log
// in this simple format (to be replaced by the state package's log once it
// exists):
//
//	DIR/commands.log  records, each:
//	    index     uint64, big endian   (store index the command applied at)
//	    type      uint8                (structs.MessageType)
//	    length    uint32, big endian   (payload bytes)
//	    payload   msgpack of the command (structs.MsgpackHandle)
//	    crc       uint32, big endian   CRC32C (Castagnoli) of the bytes above
//	DIR/summary.json  the run's --json summary
//	DIR/README.txt    this description
//
// Replaying the records in order into an empty state.Store with
// Store.Apply(index, type, payload) rebuilds the server's final state.
const recordReadme = `rejoin sim --record: what the simulated server's state store saw.

commands.log: every command the store applied, in index order. Each record:
  index   uint64 big endian  store index the command was applied at
  type    uint8              command type (structs.MessageType: 0 NodeRegister,
                             1 NodeDeregister, 2 NodeUpdateStatus, 3 JobRegister,
                             4 JobDeregister, 5 EvalUpdate, 6 AllocClientUpdate,
                             7 ApplyPlanResults)
  length  uint32 big endian  payload length
  payload msgpack            the command (go-msgpack, structs.MsgpackHandle)
  crc     uint32 big endian  CRC32C (Castagnoli) of index..payload

Applying every record in order with state.Store.Apply(index, type, payload) to
an empty store rebuilds the final state of the run.
summary.json: the run's summary (rejoin sim --json).
`

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// commandRecorder appends the store's commands to DIR/commands.log.
type commandRecorder struct {
	dir  string
	f    *os.File
	w    *bufio.Writer
	err  error // first write error; later records are dropped
	recs int
}

func newCommandRecorder(dir string) (*commandRecorder, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, "commands.log"))
	if err != nil {
		return nil, err
	}
	return &commandRecorder{dir: dir, f: f, w: bufio.NewWriterSize(f, 1<<20)}, nil
}

// write is the store's command sink: it must be fast and never fail the
// store, so errors are kept for close.
func (r *commandRecorder) write(index uint64, t structs.MessageType, payload []byte) {
	if r.err != nil {
		return
	}
	var hdr [13]byte
	binary.BigEndian.PutUint64(hdr[0:8], index)
	hdr[8] = byte(t)
	binary.BigEndian.PutUint32(hdr[9:13], uint32(len(payload)))
	crc := crc32.Update(crc32.Update(0, castagnoli, hdr[:]), castagnoli, payload)
	var tail [4]byte
	binary.BigEndian.PutUint32(tail[:], crc)
	for _, b := range [][]byte{hdr[:], payload, tail[:]} {
		if _, err := r.w.Write(b); err != nil {
			r.err = err
			return
		}
	}
	r.recs++
}

// close flushes the log and writes the summary and README.
func (r *commandRecorder) close(res *testutil.SimResult) error {
	if err := r.w.Flush(); err != nil && r.err == nil {
		r.err = err
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = err
	}
	if r.err != nil {
		return fmt.Errorf("writing %s: %w", r.f.Name(), r.err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "README.txt"), []byte(recordReadme), 0o644); err != nil {
		return err
	}
	sum, err := os.Create(filepath.Join(r.dir, "summary.json"))
	if err != nil {
		return err
	}
	if err := writeSimJSON(sum, summaryOf(res)); err != nil {
		sum.Close()
		return err
	}
	return sum.Close()
}
