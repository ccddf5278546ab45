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
	// ErrPlanStale: a conditional plan (ApplyPlanResultsRequest with a
	// Precondition) was computed from state that changed before it was
	// written; nothing was written, and the plan should be computed again.
	ErrPlanStale = errors.New("plan is stale")
)

// CodeEntry names one error for transports that carry errors as text
// (net/rpc, the replication forwarder): the sender writes the code of the
// sentinel its error matches, the receiver turns the code back into an
// error matching the same sentinel. Codes are part of wire formats: never
// rename one.
type CodeEntry struct {
	Code string
	Err  error
}

// sentinelCodes covers every sentinel above.
var sentinelCodes = []CodeEntry{
	{"node-not-ready", ErrNodeNotReady},
	{"permission-denied", ErrPermissionDenied},
	{"invalid-request", ErrInvalidRequest},
	{"unknown-node", ErrUnknownNode},
	{"unknown-alloc", ErrUnknownAlloc},
	{"unknown-job", ErrUnknownJob},
	{"unknown-eval", ErrUnknownEval},
	{"invalid-transition", ErrInvalidTransition},
	{"invalid-node-status", ErrInvalidNodeStatus},
	{"invalid-job", ErrInvalidJob},
	{"decode", ErrDecode},
	{"unknown-command", ErrUnknownCommand},
	{"stale-index", ErrStaleIndex},
}

// CodeOf returns the code of the first entry of extra, then of the
// sentinels of this package, that err matches (errors.Is), or "".
func CodeOf(err error, extra ...CodeEntry) string {
	for _, table := range [][]CodeEntry{extra, sentinelCodes} {
		for _, c := range table {
			if errors.Is(err, c.Err) {
				return c.Code
			}
		}
	}
	return ""
}

// ErrorOfCode returns the error code names, looking in extra first, or nil
// for a code nobody defined.
func ErrorOfCode(code string, extra ...CodeEntry) error {
	for _, table := range [][]CodeEntry{extra, sentinelCodes} {
		for _, c := range table {
			if c.Code == code {
				return c.Err
			}
		}
	}
	return nil
}
