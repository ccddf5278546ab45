package replicated

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/rejoinhq/rejoin/heartbeat"
)

// ErrNotLeader is the sentinel every "this server cannot take the write"
// error matches. It is heartbeat.ErrNotLeader, so a caller checks one
// sentinel whichever layer refused.
var ErrNotLeader = heartbeat.ErrNotLeader

// ErrLeadershipLost: the leader lost leadership while a write was in
// flight; the write may or may not have been committed. It is never
// retried automatically.
var ErrLeadershipLost = errors.New("leadership lost while applying")

// NotLeaderError says where the leader is, when it is known, so a client
// can retry there. It matches ErrNotLeader.
type NotLeaderError struct {
	Leader   raft.ServerAddress // "" when no leader is known
	LeaderID raft.ServerID
}

func (e *NotLeaderError) Error() string {
	if e.Leader == "" {
		return "not the leader; no leader known"
	}
	return fmt.Sprintf("not the leader; leader is %s at %s", e.LeaderID, e.Leader)
}

// Is makes the error match ErrNotLeader.
func (e *NotLeaderError) Is(target error) bool { return target == ErrNotLeader }
