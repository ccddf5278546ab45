package state

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// rec is one raw record of a crafted snapshot.
type rec struct {
	t byte
	v any
}

// craft writes records and a trailer with correct counts and checksum
// unless fix changes them.
func craft(t testing.TB, recs []rec, fix func(*snapshotTrailer)) []byte {
	t.Helper()
	var buf bytes.Buffer
	h := sha256.New()
	tr := &snapshotTrailer{Counts: map[string]uint64{}}
	for _, r := range recs {
		b := encode(t, r.v)
		buf.WriteByte(r.t)
		buf.Write(b)
		switch r.t {
		case recNode:
			tr.Counts[countNodes]++
		case recAlloc:
			tr.Counts[countAllocs]++
		case recIndex:
			tr.Counts[countIndex]++
		}
	}
	h.Write(buf.Bytes())
	tr.SHA256 = h.Sum(nil)
	if fix != nil {
		fix(tr)
	}
	buf.WriteByte(recTrailer)
	buf.Write(encode(t, tr))
	return buf.Bytes()
}

func header(magic string, version uint32, index uint64) rec {
	return rec{recHeader, &snapshotHeader{Magic: magic, FormatVersion: version, Index: index, CreatedAt: t0}}
}

func latest(v uint64) rec { return rec{recIndex, &indexEntry{Key: latestKey, Value: v}} }

// mustRefuse checks that file fails to read with an error matching want,
// both as a fresh store and as a Restore that leaves an existing store
// exactly as it was.
func mustRefuse(t *testing.T, file []byte, want error) {
	t.Helper()
	s, _, err := ReadSnapshot(bytes.NewReader(file), nil)
	must.Nil(t, s)
	must.ErrorIs(t, err, want)

	existing := seeded(t)
	before, beforeHash := dump(t, existing), hashOf(t, existing)
	_, err = existing.Restore(bytes.NewReader(file))
	must.ErrorIs(t, err, want)
	must.Eq(t, before, dump(t, existing))
	must.Eq(t, beforeHash, hashOf(t, existing))
}

func TestSnapshot_Valid(t *testing.T) {
	// The crafting helper itself makes readable files.
	file := craft(t, []rec{header(SnapshotMagic, 1, 9), {recNode, mockNode("n1", "ready")}, latest(9)}, nil)
	s, meta, err := ReadSnapshot(bytes.NewReader(file), nil)
	must.NoError(t, err)
	must.Eq(t, 9, meta.Index)
	must.Eq(t, 9, s.LatestIndex())
	must.Eq(t, "n1", node(t, s, "n1").ID)
}

func TestSnapshot_Corrupt(t *testing.T) {
	good := persist(t, genStore(t, 50))
	valid := []rec{header(SnapshotMagic, 1, 9), {recNode, mockNode("n1", "ready")}, latest(9)}

	// A string byte flipped: every record still decodes, only the
	// checksum can tell.
	flipped := bytes.Clone(good)
	i := bytes.Index(flipped, []byte("alloc-0000031"))
	must.Positive(t, i)
	flipped[i+12] = '7'

	cases := map[string]struct {
		file []byte
		want error
	}{
		"empty":             {nil, ErrCorruptSnapshot},
		"not a snapshot":    {[]byte("hello world, not a snapshot"), ErrCorruptSnapshot},
		"wrong magic":       {craft(t, append([]rec{header("NOMADSNAP", 1, 9)}, valid[1:]...), nil), ErrCorruptSnapshot},
		"wrong version":     {craft(t, append([]rec{header(SnapshotMagic, 2, 9)}, valid[1:]...), nil), ErrSnapshotVersion},
		"wrong checksum":    {flipped, ErrCorruptSnapshot},
		"bad trailer sum":   {craft(t, valid, func(tr *snapshotTrailer) { tr.SHA256[0] ^= 1 }), ErrCorruptSnapshot},
		"bad trailer count": {craft(t, valid, func(tr *snapshotTrailer) { tr.Counts[countNodes] = 2 }), ErrCorruptSnapshot},
		"extra count":       {craft(t, valid, func(tr *snapshotTrailer) { tr.Counts["allocs"] = 1 }), ErrCorruptSnapshot},
		"truncated trailer": {good[:len(good)-5], ErrCorruptSnapshot},
		"no trailer":        {good[:bytes.LastIndexByte(good, recTrailer)], ErrCorruptSnapshot},
		"data after":        {append(bytes.Clone(good), 0), ErrCorruptSnapshot},
		"unknown record":    {craft(t, append(valid, rec{0x42, "x"}), nil), ErrCorruptSnapshot},
		"nomad record":      {craft(t, append(valid, rec{7, map[string]any{"JobID": "x"}}), nil), ErrCorruptSnapshot},
		"header twice":      {craft(t, append(valid, header(SnapshotMagic, 1, 9)), nil), ErrCorruptSnapshot},
		"index mismatch":    {craft(t, []rec{header(SnapshotMagic, 1, 9), latest(8)}, nil), ErrCorruptSnapshot},
		"duplicate node":    {craft(t, append(valid, rec{recNode, mockNode("n1", "down")}), nil), structs.ErrInvalidRequest},
		"node without ID":   {craft(t, append(valid, rec{recNode, mockNode("", "down")}), nil), structs.ErrInvalidRequest},
		"nil node":          {craft(t, append(valid, rec{recNode, nil}), nil), ErrCorruptSnapshot},
		"wrong value type":  {craft(t, append(valid, rec{recAlloc, []int{1, 2}}), nil), structs.ErrDecode},
		// A 10-byte file declaring a 4 GiB string fails at once.
		"huge length":     {[]byte{recHeader, 0xdb, 0xff, 0xff, 0xff, 0xff, 'R', 'E'}, ErrCorruptSnapshot},
		"huge array":      {[]byte{recHeader, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80}, ErrCorruptSnapshot},
		"invalid msgpack": {[]byte{recHeader, 0xc1}, ErrCorruptSnapshot},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) { mustRefuse(t, tc.file, tc.want) })
	}
}

func TestSnapshot_TruncatedEverywhere(t *testing.T) {
	good := persist(t, genStore(t, 100))
	for i := range 16 {
		cut := len(good) * i / 16
		mustRefuse(t, good[:cut], ErrCorruptSnapshot)
	}
	// Every cut in the last 64 bytes (inside the trailer) too.
	for cut := len(good) - 64; cut < len(good); cut++ {
		_, _, err := ReadSnapshot(bytes.NewReader(good[:cut]), nil)
		must.ErrorIs(t, err, ErrCorruptSnapshot)
	}
}

func TestSnapshot_ErrorDetail(t *testing.T) {
	good := persist(t, genStore(t, 10))
	_, _, err := ReadSnapshot(bytes.NewReader(good[:len(good)/2]), nil)
	var se *SnapshotError
	must.True(t, errors.As(err, &se))
	must.Positive(t, se.Offset)
	must.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// errReader fails after n bytes.
type errReader struct {
	r io.Reader
	n int
}

var errDisk = errors.New("disk on fire")

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errDisk
	}
	p = p[:min(len(p), e.n)]
	n, err := e.r.Read(p)
	e.n -= n
	return n, err
}

func TestSnapshot_ReadErrorIsReturned(t *testing.T) {
	good := persist(t, genStore(t, 10))
	existing := seeded(t)
	before := dump(t, existing)
	_, err := existing.Restore(&errReader{r: bytes.NewReader(good), n: len(good) / 2})
	must.ErrorIs(t, err, errDisk)
	must.Eq(t, before, dump(t, existing))
}
