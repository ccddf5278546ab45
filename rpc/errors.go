package rpc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/rejoinhq/rejoin/structs"
)

// NodeNotReadyError rejects an alloc update from a node whose status is not
// ready (ARCHITECTURE rule 1). The client retries after its next heartbeat.
// It matches structs.ErrNodeNotReady.
type NodeNotReadyError struct {
	NodeID string
	Status string
}

func (e *NodeNotReadyError) Error() string {
	return fmt.Sprintf("node %q is not ready (status %q): alloc updates are accepted only from ready nodes; heartbeat first",
		e.NodeID, e.Status)
}

// Is makes the error match structs.ErrNodeNotReady.
func (e *NodeNotReadyError) Is(target error) bool { return target == structs.ErrNodeNotReady }

// rejectf returns an error matching sentinel whose message starts with the
// sentinel's text, e.g. "permission denied: node "n1": secret mismatch".
func rejectf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

// ErrCallTimeout is returned by Client when a call gets no answer within its
// timeout. The server may or may not have applied it.
var ErrCallTimeout = errors.New("rpc call timed out")

// ErrInternal is what a client sees when the server failed for a reason
// that is not the request's fault (a panic in a handler, a store failure).
var ErrInternal = errors.New("internal server error")

// wireCodes name the sentinels that cross the TCP transport. net/rpc
// carries an error as a string only, so the server prefixes the message
// with "[code] " and the client turns it back into a *RemoteError that
// matches the same sentinel. Codes are part of the wire format: never
// rename one.
var wireCodes = []struct {
	code string
	err  error
}{
	{"node-not-ready", structs.ErrNodeNotReady},
	{"permission-denied", structs.ErrPermissionDenied},
	{"invalid-request", structs.ErrInvalidRequest},
	{"unknown-node", structs.ErrUnknownNode},
	{"unknown-alloc", structs.ErrUnknownAlloc},
	{"unknown-job", structs.ErrUnknownJob},
	{"unknown-eval", structs.ErrUnknownEval},
	{"invalid-transition", structs.ErrInvalidTransition},
	{"invalid-node-status", structs.ErrInvalidNodeStatus},
	{"invalid-job", structs.ErrInvalidJob},
	{"decode", structs.ErrDecode},
	{"unknown-command", structs.ErrUnknownCommand},
	{"stale-index", structs.ErrStaleIndex},
	{"internal", ErrInternal},
}

// encodeWireError renders err for net/rpc: "[code] message".
func encodeWireError(err error) error {
	for _, w := range wireCodes {
		if errors.Is(err, w.err) {
			return errors.New("[" + w.code + "] " + err.Error())
		}
	}
	return errors.New("[internal] " + err.Error())
}

// RemoteError is an error the server returned over TCP. It matches the
// sentinel the server's error matched (errors.Is), so callers treat local
// and remote rejections alike.
type RemoteError struct {
	Code    string
	Message string
	err     error
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the sentinel the code names, or nil for an unknown code.
func (e *RemoteError) Unwrap() error { return e.err }

// decodeWireError turns a net/rpc server error string back into a
// *RemoteError; a string without a known code stays ErrInternal.
func decodeWireError(msg string) error {
	if strings.HasPrefix(msg, "[") {
		if end := strings.Index(msg, "] "); end > 0 {
			code := msg[1:end]
			for _, w := range wireCodes {
				if w.code == code {
					return &RemoteError{Code: code, Message: msg[end+2:], err: w.err}
				}
			}
		}
	}
	return &RemoteError{Code: "internal", Message: msg, err: ErrInternal}
}
