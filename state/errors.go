package state

import (
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
