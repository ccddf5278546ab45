package testutil

import (
	"time"

	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/structs"
)

// HeartbeatService is what the cluster harness needs of the server's
// heartbeat side: the timers the RPC endpoints drive, and leadership.
type HeartbeatService interface {
	ResetHeartbeatTimer(nodeID string) (time.Duration, error)
	ClearHeartbeatTimer(nodeID string)
	// Initialize makes the server leader: every node that is not down gets
	// the failover TTL.
	Initialize(nodes []*structs.Node)
	// Clear drops leadership: nothing tracked expires afterwards.
	Clear()
}

var _ HeartbeatService = (*heartbeat.Heartbeater)(nil)
