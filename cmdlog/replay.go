package cmdlog

import (
	"errors"
	"fmt"
	"time"

	"github.com/rejoinhq/rejoin/state"
)

// errStop ends a replay at its bound.
var errStop = errors.New("stop")

// ErrLogGap: the log does not continue the store. It matches every
// *GapError.
var ErrLogGap = errors.New("command log does not continue the state")

// GapError is a replay that found the next record past the store's latest
// index missing: applying later commands without it would give a state no
// server ever had. It matches ErrLogGap.
type GapError struct {
	Latest uint64 // the store's latest index
	Next   uint64 // the first record above it
}

func (e *GapError) Error() string {
	return fmt.Sprintf("%v: the state is at index %d but the log's next command is %d (%d..%d are missing)",
		ErrLogGap, e.Latest, e.Next, e.Latest+1, e.Next-1)
}

// Is makes the error match ErrLogGap.
func (e *GapError) Is(target error) bool { return target == ErrLogGap }

// ReplayInto applies to store, in order, every record of the log in dir
// with Index above store.LatestIndex() (older ones are in the store
// already, from a snapshot) and within the bounds: Index <= until (0 = no
// bound) and Time <= at (zero = no bound). The first record past a bound
// ends the replay. It returns the store's latest index afterwards. A
// command the store refuses stops the replay with that error (wrapped,
// naming the index), and a missing command with a *GapError: the commands
// before it stay applied.
func ReplayInto(store *state.Store, dir string, until uint64, at time.Time) (uint64, error) {
	err := ReadDir(dir, func(rec Record) error {
		if rec.Index <= store.LatestIndex() {
			return nil
		}
		if until > 0 && rec.Index > until || !at.IsZero() && rec.Time.After(at) {
			return errStop
		}
		if latest := store.LatestIndex(); rec.Index != latest+1 {
			return &GapError{Latest: latest, Next: rec.Index}
		}
		if _, err := store.Apply(rec.Index, rec.Type, rec.Payload); err != nil {
			return fmt.Errorf("cmdlog: replay record %d (%s): %w", rec.Index, rec.Type, err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return store.LatestIndex(), err
	}
	return store.LatestIndex(), nil
}
