package rpc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/structs"
)

// Node serves the client endpoints. Its methods have net/rpc signatures and
// are safe for concurrent use; all calls for one node run one at a time in
// arrival order, calls for different nodes in parallel.
type Node struct {
	store  Store
	hb     HeartbeatTimers
	clock  clock.Clock
	logger hclog.Logger
	newID  func() string
	cfg    Config

	// locks serialises the calls of one node: validation and the write it
	// leads to are one step, so a heartbeat cannot slip between an alloc
	// update's check and its apply. Never held across a blocking query.
	locks *keyLock
	batch *batcher

	// done ends every blocking query when the endpoints close, so a server
	// shutting down does not wait out their MaxQueryTime.
	done     context.Context
	shutdown context.CancelFunc
}

var _ NodeAPI = (*Node)(nil)

// NewNode returns the endpoints for cfg.
func NewNode(cfg Config) (*Node, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	n := &Node{
		store:  cfg.Store,
		hb:     cfg.Heartbeats,
		clock:  cfg.Clock,
		logger: cfg.Logger.Named("rpc"),
		newID:  cfg.NewID,
		cfg:    cfg,
		locks:  newKeyLock(),
	}
	n.batch = newBatcher(cfg, n.applyAllocBatch)
	n.done, n.shutdown = context.WithCancel(context.Background())
	return n, nil
}

// FlushAllocUpdates applies the alloc updates gathered so far now instead of
// at the end of the batch window. It returns once they are applied.
func (n *Node) FlushAllocUpdates() { n.batch.flush() }

// Close applies pending alloc updates (later ones are applied unbatched)
// and makes blocking queries return their current data at once. Close it
// before the Server, which waits for in-flight calls.
func (n *Node) Close() {
	n.shutdown()
	n.batch.close()
}

// authNode looks up nodeID and checks secret in constant time.
func (n *Node) authNode(nodeID, secret string) (*structs.Node, error) {
	if nodeID == "" {
		return nil, rejectf(structs.ErrInvalidRequest, "missing node ID")
	}
	node, err := n.store.NodeByID(nil, nodeID)
	if err != nil {
		return nil, fmt.Errorf("%w: reading node %q: %w", ErrInternal, nodeID, err)
	}
	if node == nil {
		return nil, rejectf(structs.ErrUnknownNode, "node %q", nodeID)
	}
	if !secretEqual(node.SecretID, secret) {
		return nil, rejectf(structs.ErrPermissionDenied, "node %q: secret ID does not match", nodeID)
	}
	return node, nil
}

// reject logs a refused call with the node and the reason (never the
// request, which carries the secret) and returns err.
func (n *Node) reject(method, nodeID string, err error) error {
	level := hclog.Info
	if errors.Is(err, structs.ErrPermissionDenied) || errors.Is(err, ErrInternal) {
		level = hclog.Warn
	}
	n.logger.Log(level, "rejected", "method", method, "node_id", nodeID, "reason", err.Error())
	return err
}

// secretEqual compares a stored secret with a presented one in constant
// time; an empty secret never matches.
func secretEqual(stored, presented string) bool {
	return presented != "" && subtle.ConstantTimeCompare([]byte(stored), []byte(presented)) == 1
}
