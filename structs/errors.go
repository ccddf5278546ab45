package structs

import "errors"

// Sentinel errors. Every error rejoin returns for bad input matches one of
// these with errors.Is, usually through a typed error that adds detail.
var (
	// ErrInvalidTransition: a node status change outside rule 6's list.
	ErrInvalidTransition = errors.New("invalid node status transition")
	// ErrInvalidNodeStatus: a node status value that does not exist.
	ErrInvalidNodeStatus = errors.New("invalid node status")
	// ErrUnknownNode: a request names a node the store does not have.
	ErrUnknownNode = errors.New("unknown node")
	// ErrUnknownAlloc: a request names an allocation the store does not have.
	ErrUnknownAlloc = errors.New("unknown allocation")
	// ErrUnknownJob: a request names a job the store does not have.
	ErrUnknownJob = errors.New("unknown job")
	// ErrUnknownEval: a request names an evaluation the store does not have.
	ErrUnknownEval = errors.New("unknown evaluation")
	// ErrNodeNotReady: alloc updates are accepted only from ready nodes.
	ErrNodeNotReady = errors.New("node is not ready")
	// ErrPermissionDenied: wrong secret, or another node's allocation.
	ErrPermissionDenied = errors.New("permission denied")
	// ErrInvalidJob: a job (or its disconnect block) fails validation.
	ErrInvalidJob = errors.New("invalid job")
	// ErrInvalidRequest: a request is malformed or empty.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrDecode: a payload is not valid msgpack for its type.
	ErrDecode = errors.New("malformed payload")
	// ErrUnknownCommand: a command type the store does not know.
	ErrUnknownCommand = errors.New("unknown command type")
	// ErrStaleIndex: a command's index is not above the store's latest.
	ErrStaleIndex = errors.New("command index not above the latest index")
)
