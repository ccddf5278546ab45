package cmdlog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// segmentMagic starts every segment file (format version in the last byte).
const segmentMagic = "RJNLOG\x00\x01"

const (
	headerSize = 8         // length + CRC
	fixedBody  = 8 + 8 + 1 // index + time + type
	segPrefix  = "seg-"    // segment files: seg-<8-digit sequence>.log
	segSuffix  = ".log"
	// MaxRecordSize bounds one record's body: a larger declared length is
	// corruption, not a reason to allocate.
	MaxRecordSize = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one applied command.
type Record struct {
	Index   uint64
	Time    time.Time
	Type    structs.MessageType
	Payload []byte
}

func segmentName(seq uint64) string { return fmt.Sprintf("%s%08d%s", segPrefix, seq, segSuffix) }

// segments lists dir's segment files by sequence number.
func segments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var seqs []uint64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
		if err != nil {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

func segmentPath(dir string, seq uint64) string { return filepath.Join(dir, segmentName(seq)) }

// appendRecord appends rec's encoding to b.
func appendRecord(b []byte, rec Record) []byte {
	start := len(b)
	b = binary.LittleEndian.AppendUint32(b, uint32(fixedBody+len(rec.Payload)))
	b = binary.LittleEndian.AppendUint32(b, 0) // CRC, filled below
	b = binary.LittleEndian.AppendUint64(b, rec.Index)
	b = binary.LittleEndian.AppendUint64(b, uint64(rec.Time.UnixNano()))
	b = append(b, byte(rec.Type))
	b = append(b, rec.Payload...)
	binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+headerSize:], castagnoli))
	return b
}

// decodeBody parses a checked record body. Payload aliases body.
func decodeBody(body []byte) Record {
	return Record{
		Index:   binary.LittleEndian.Uint64(body),
		Time:    time.Unix(0, int64(binary.LittleEndian.Uint64(body[8:]))).UTC(),
		Type:    structs.MessageType(body[16]),
		Payload: body[fixedBody:],
	}
}
