package state

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// StateHash returns a SHA-256 digest of the current state; see
// Snapshot.StateHash.
func (s *Store) StateHash() ([32]byte, error) { return s.Snapshot().StateHash() }

// StateHash returns a SHA-256 digest of the snapshot: its latest index, the
// index of each table, and the msgpack encoding of every node, alloc, job and
// evaluation in table and ID order. Two stores that applied the same command
// log have the same hash, so it checks a replay cheaply. It costs a full scan.
func (sn *Snapshot) StateHash() ([32]byte, error) {
	h := sha256.New()
	var n [8]byte
	putIndex := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		h.Write(n[:])
	}
	putIndex(sn.LatestIndex())
	for _, t := range tables {
		h.Write([]byte(t))
		putIndex(sn.Index(t))
		it, err := sn.txn.Get(t, "id")
		if err != nil {
			return [32]byte{}, fmt.Errorf("state: hash %s: %w", t, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			b, err := structs.MarshalCanonical(raw) // map order must not change the hash
			if err != nil {
				return [32]byte{}, fmt.Errorf("state: hash %s: %w", t, err)
			}
			putIndex(uint64(len(b)))
			h.Write(b)
		}
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, nil
}
