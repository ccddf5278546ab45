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

// The TCP transport carries an error as a string only (net/rpc), so the
// server prefixes the message with "[code] ", the code of the sentinel it
// matches (structs.CodeOf), and the client turns it back into a
// *RemoteError that matches the same sentinel. rpcCodes adds this package's
// own; codes are part of the wire format: never rename one.
var rpcCodes = []structs.CodeEntry{{Code: "internal", Err: ErrInternal}}

// encodeWireError renders err for net/rpc: "[code] message".
func encodeWireError(err error) error {
	code := structs.CodeOf(err, rpcCodes...)
	if code == "" {
		code = "internal"
	}
	return errors.New("[" + code + "] " + err.Error())
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
			if sentinel := structs.ErrorOfCode(code, rpcCodes...); sentinel != nil {
				return &RemoteError{Code: code, Message: msg[end+2:], err: sentinel}
			}
		}
	}
	return &RemoteError{Code: "internal", Message: msg, err: ErrInternal}
}
