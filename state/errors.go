package state

import (
	"errors"
	"fmt"

	"github.com/rejoinhq/rejoin/structs"
)

// StaleIndexError is a command whose index is not above the store's latest.
// It matches structs.ErrStaleIndex.
type StaleIndexError struct {
	Index, Latest uint64
}

func (e *StaleIndexError) Error() string {
	return fmt.Sprintf("command index %d not above the latest index %d", e.Index, e.Latest)
}

// Is makes the error match structs.ErrStaleIndex.
func (e *StaleIndexError) Is(target error) bool { return target == structs.ErrStaleIndex }

// NotFoundError is a command naming an object the store does not have. It
// matches its Kind: structs.ErrUnknownNode, ErrUnknownAlloc, ErrUnknownJob
// or ErrUnknownEval.
type NotFoundError struct {
	Kind error
	ID   string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("%v %q", e.Kind, e.ID) }

// Is makes the error match its Kind.
func (e *NotFoundError) Is(target error) bool { return target == e.Kind }

// RequestError is a malformed command. It matches structs.ErrInvalidRequest.
type RequestError struct {
	Command structs.MessageType
	Reason  string
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("invalid %s request: %s", e.Command, e.Reason)
}

// Is makes the error match structs.ErrInvalidRequest.
func (e *RequestError) Is(target error) bool { return target == structs.ErrInvalidRequest }

func invalid(t structs.MessageType, format string, args ...any) error {
	return &RequestError{Command: t, Reason: fmt.Sprintf(format, args...)}
}

func unknownNode(id string) error  { return &NotFoundError{Kind: structs.ErrUnknownNode, ID: id} }
func unknownAlloc(id string) error { return &NotFoundError{Kind: structs.ErrUnknownAlloc, ID: id} }
func unknownJob(ns, id string) error {
	return &NotFoundError{Kind: structs.ErrUnknownJob, ID: ns + "/" + id}
}

// Snapshot sentinels. Every error reading a snapshot matches one of them
// (through *SnapshotError), or structs.ErrDecode / structs.ErrInvalidRequest
// for a record that does not decode or cannot be stored.
var (
	// ErrCorruptSnapshot: not a rejoin snapshot, truncated, a record that is
	// not well-formed, an unknown record type, or a trailer whose counts or
	// SHA-256 do not match what was read.
	ErrCorruptSnapshot = errors.New("corrupt snapshot")
	// ErrSnapshotVersion: a snapshot format version this build cannot read.
	ErrSnapshotVersion = errors.New("unsupported snapshot format version")
)

// SnapshotError is a snapshot that failed to read at byte Offset (of the
// record where the problem was found). It matches Kind (ErrCorruptSnapshot
// or ErrSnapshotVersion) and unwraps to the underlying error, if any.
type SnapshotError struct {
	Kind   error
	Offset int64
	Reason string
	Err    error
}

func (e *SnapshotError) Error() string {
	msg := fmt.Sprintf("%v at offset %d: %s", e.Kind, e.Offset, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is makes the error match its Kind.
func (e *SnapshotError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying error.
func (e *SnapshotError) Unwrap() error { return e.Err }
