package nomad

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Archive member names.
const (
	memberMeta  = "meta.json"
	memberState = "state.bin"
	memberSums  = "SHA256SUMS"
)

// maxSmallMember caps meta.json and SHA256SUMS, which are a few hundred
// bytes in practice.
const maxSmallMember = 1 << 20

// ReadArchive reads a `nomad operator snapshot save` archive with a zero
// Reader.
func ReadArchive(r io.Reader) (*Import, error) { return (&Reader{}).ReadArchive(r) }

// ReadFile reads a snapshot file with a zero Reader.
func ReadFile(path string) (*Import, error) { return (&Reader{}).ReadFile(path) }

// ReadFile reads path as an archive when it starts with the gzip magic
// bytes, else as a bare state.bin.
func (rd *Reader) ReadFile(path string) (*Import, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var size int64
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	br := bufio.NewReader(f)
	magic, err := br.Peek(2)
	if err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		return rd.ReadArchive(br)
	}
	return rd.readStateBin(br, size)
}

// ReadArchive reads a gzip tar holding meta.json, state.bin and SHA256SUMS.
// Both sums are verified before state.bin is decoded; other members are
// ignored.
func (rd *Reader) ReadArchive(r io.Reader) (*Import, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, &ArchiveError{Kind: ErrBadArchive, Msg: "not gzip", Err: err}
	}
	defer zr.Close()
	members := map[string][]byte{}
	sums := map[string][sha256.Size]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &ArchiveError{Kind: ErrBadArchive, Msg: "bad tar stream", Err: err}
		}
		var limit int64
		switch h.Name {
		case memberMeta, memberSums:
			limit = maxSmallMember
		case memberState:
			limit = rd.limit()
		default:
			continue
		}
		if _, dup := members[h.Name]; dup {
			return nil, &ArchiveError{Member: h.Name, Kind: ErrBadArchive, Msg: "appears twice"}
		}
		b, err := readCapped(tr, limit, h.Name, h.Size)
		if err != nil {
			var se *SizeError
			if errors.As(err, &se) {
				return nil, &ArchiveError{Member: h.Name, Kind: ErrTooLarge, Msg: "too large", Err: err}
			}
			return nil, &ArchiveError{Member: h.Name, Kind: ErrBadArchive, Msg: "unreadable", Err: err}
		}
		members[h.Name] = b
		sums[h.Name] = sha256.Sum256(b)
	}
	for _, name := range []string{memberMeta, memberState, memberSums} {
		if _, ok := members[name]; !ok {
			return nil, &ArchiveError{Member: name, Kind: ErrMissingMember, Msg: "missing"}
		}
	}
	want, err := parseSums(members[memberSums])
	if err != nil {
		return nil, err
	}
	for _, name := range []string{memberMeta, memberState} {
		w, ok := want[name]
		if !ok {
			return nil, &ArchiveError{Member: name, Kind: ErrMissingMember, Msg: "has no line in " + memberSums}
		}
		if got := sums[name]; got != w {
			return nil, &ArchiveError{Member: name, Kind: ErrChecksum,
				Msg: fmt.Sprintf("SHA-256 %x, %s says %x", got, memberSums, w)}
		}
	}
	var meta RaftMeta
	if err := json.Unmarshal(members[memberMeta], &meta); err != nil {
		return nil, &ArchiveError{Member: memberMeta, Kind: ErrBadArchive, Msg: "bad JSON", Err: err}
	}
	im, err := rd.decodeStateBin(members[memberState])
	if err != nil {
		return nil, err
	}
	im.Meta = &meta
	return im, nil
}

// parseSums reads SHA256SUMS lines "<hex sha256>  <file name>" (sha256sum's
// format; a '*' before the name marks binary mode and is dropped).
func parseSums(b []byte) (map[string][sha256.Size]byte, error) {
	out := map[string][sha256.Size]byte{}
	for i, line := range strings.Split(string(bytes.TrimSpace(b)), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		name = strings.TrimPrefix(strings.TrimSpace(name), "*")
		raw, err := hex.DecodeString(sum)
		if !ok || err != nil || len(raw) != sha256.Size || name == "" {
			return nil, &ArchiveError{Member: memberSums, Kind: ErrBadArchive, Msg: fmt.Sprintf("line %d is not \"<sha256>  <name>\"", i+1)}
		}
		out[name] = [sha256.Size]byte(raw)
	}
	return out, nil
}
