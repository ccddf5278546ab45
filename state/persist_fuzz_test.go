package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// FuzzReadSnapshot: any input reads into a store or fails with a typed
// error; a Restore that fails leaves the store exactly as it was, and one
// that succeeds gives the same state as ReadSnapshot. Seeds in
// testdata/fuzz/FuzzReadSnapshot (valid snapshots: genStore(3), seeded).
func FuzzReadSnapshot(f *testing.F) {
	f.Add(persist(f, seeded(f)))
	f.Add(craft(f, []rec{header(SnapshotMagic, 1, 9), {recNode, mockNode("n1", "ready")}, latest(9)}, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, _, err := ReadSnapshot(bytes.NewReader(data), nil)
		existing := seeded(t)
		before := dump(t, existing)
		_, rerr := existing.Restore(bytes.NewReader(data))
		if err != nil {
			must.Nil(t, s)
			typed := errors.Is(err, ErrCorruptSnapshot) || errors.Is(err, ErrSnapshotVersion) ||
				errors.Is(err, structs.ErrDecode) || errors.Is(err, structs.ErrInvalidRequest)
			must.True(t, typed, must.Sprintf("untyped error %v", err))
			must.Error(t, rerr)
			must.Eq(t, before, dump(t, existing))
			return
		}
		must.NoError(t, rerr)
		must.Eq(t, dump(t, s), dump(t, existing))
		// A snapshot that reads persists again and reads back the same.
		again, _, err := ReadSnapshot(bytes.NewReader(persist(t, s)), nil)
		must.NoError(t, err)
		must.Eq(t, hashOf(t, s), hashOf(t, again))
	})
}
