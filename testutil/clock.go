package testutil

import (
	"time"

	"github.com/rejoinhq/rejoin/clock/clocktest"
)

// FakeClock is the deterministic clock of package clocktest, re-exported
// here for the simulation and the tests that already use testutil.
type FakeClock = clocktest.Fake

// NewFakeClock returns a fake clock reading start.
func NewFakeClock(start time.Time) *FakeClock { return clocktest.NewFake(start) }
