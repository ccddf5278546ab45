package cmdlog

import (
	"errors"
	"fmt"
	"time"

	"github.com/rejoinhq/rejoin/state"
)

// errStop ends a replay at its bound.
var errStop = errors.New("stop")

// ReplayInto applies to store, in order, every record of the log in dir
// with Index above store.LatestIndex() (older ones are in the store
// already, from a snapshot) and within the bounds: Index <= until (0 = no
// bound) and Time <= at (zero = no bound). The first record past a bound
// ends the replay. It returns the store's latest index afterwards. A
// command the store refuses stops the replay with that error (wrapped,
// naming the index): the commands before it stay applied.
func ReplayInto(store *state.Store, dir string, until uint64, at time.Time) (uint64, error) {
	err := ReadDir(dir, func(rec Record) error {
		if rec.Index <= store.LatestIndex() {
			return nil
		}
		if until > 0 && rec.Index > until || !at.IsZero() && rec.Time.After(at) {
			return errStop
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
