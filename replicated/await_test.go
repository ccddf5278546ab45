package replicated

import (
	"errors"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/shoenig/test/must"
)

// stuckFuture is a raft future that is never answered, as raft leaves one
// whose entry was committed but not applied when it shut down.
type stuckFuture struct{ never chan struct{} }

func (f stuckFuture) Error() error { <-f.never; return nil }

type doneFuture struct{ err error }

func (f doneFuture) Error() error { return f.err }

// TestAwait_ShutdownReleasesAStuckFuture: a write waiting on a future raft
// will never answer returns ErrRaftShutdown once the replica shuts down
// (CI once hung 10 minutes on such a future with a leader-change callback
// queued behind it).
func TestAwait_ShutdownReleasesAStuckFuture(t *testing.T) {
	r := &Replica{shutdownCh: make(chan struct{})}
	got := make(chan error, 1)
	go func() { got <- r.await(stuckFuture{never: make(chan struct{})}) }()
	close(r.shutdownCh)
	must.ErrorIs(t, <-got, raft.ErrRaftShutdown)
}

func TestAwait_AnswerIsReturned(t *testing.T) {
	r := &Replica{shutdownCh: make(chan struct{})}
	must.NoError(t, r.await(doneFuture{}))
	boom := errors.New("boom")
	must.ErrorIs(t, r.await(doneFuture{err: boom}), boom)
	// After shutdown a caller gets the answer or ErrRaftShutdown, never
	// a hang.
	close(r.shutdownCh)
	for i := 0; i < 100; i++ {
		err := r.await(doneFuture{err: boom})
		must.True(t, errors.Is(err, boom) || errors.Is(err, raft.ErrRaftShutdown), must.Sprint(err))
	}
}
