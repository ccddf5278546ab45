package nomad

import (
	"errors"
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// Sentinels for what can be wrong with a Nomad snapshot. Every error the
// readers return matches one of them with errors.Is; FormatError also
// matches structs.ErrDecode.
var (
	// ErrTruncated: the stream ends inside the header or a record.
	ErrTruncated = errors.New("nomad snapshot truncated")
	// ErrMalformed: bytes that are not a valid record stream.
	ErrMalformed = errors.New("nomad snapshot malformed")
	// ErrTooLarge: state.bin is bigger than the reader's MaxStateBytes.
	ErrTooLarge = errors.New("nomad snapshot too large")
	// ErrBadArchive: the archive is not a gzip tar of meta.json, state.bin
	// and SHA256SUMS.
	ErrBadArchive = errors.New("bad nomad snapshot archive")
	// ErrChecksum: a member's SHA-256 differs from SHA256SUMS.
	ErrChecksum = errors.New("nomad snapshot checksum mismatch")
	// ErrMissingMember: a required archive member, or its sum, is absent.
	ErrMissingMember = errors.New("nomad snapshot archive member missing")
)

// FormatError is a state.bin stream that cannot be read. Offset is the byte
// offset in state.bin of the record (or header) at fault; Type is the
// record's type byte (-1 for the header).
type FormatError struct {
	Offset int64
	Type   int
	// Kind is ErrTruncated or ErrMalformed.
	Kind error
	Err  error
}

func (e *FormatError) Error() string {
	where := "header"
	if e.Type >= 0 {
		where = fmt.Sprintf("record type %d (%s)", e.Type, RecordTypeName(uint8(e.Type)))
	}
	return fmt.Sprintf("state.bin offset %d, %s: %v: %v", e.Offset, where, e.Kind, e.Err)
}

// Is matches Kind and structs.ErrDecode.
func (e *FormatError) Is(target error) bool {
	return target == e.Kind || target == structs.ErrDecode
}

// Unwrap returns the underlying cause.
func (e *FormatError) Unwrap() error { return e.Err }

// ArchiveError is an archive that fails verification. Kind is
// ErrBadArchive, ErrChecksum, ErrMissingMember or ErrTooLarge; every
// ArchiveError also matches ErrBadArchive.
type ArchiveError struct {
	Member string
	Kind   error
	Msg    string
	Err    error
}

func (e *ArchiveError) Error() string {
	s := "nomad snapshot archive"
	if e.Member != "" {
		s += " member " + e.Member
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Is matches Kind and ErrBadArchive.
func (e *ArchiveError) Is(target error) bool { return target == e.Kind || target == ErrBadArchive }

// Unwrap returns the underlying cause.
func (e *ArchiveError) Unwrap() error { return e.Err }

// SizeError is input larger than the configured cap. It matches ErrTooLarge.
type SizeError struct {
	What  string
	Limit int64
}

func (e *SizeError) Error() string {
	return fmt.Sprintf("%s is larger than the %d-byte limit", e.What, e.Limit)
}

// Is matches ErrTooLarge.
func (e *SizeError) Is(target error) bool { return target == ErrTooLarge }
