package heartbeat

import (
	"time"

	"github.com/rejoinhq/rejoin/clock/clocktest"
)

// fakeClock is clocktest.Fake; the short names keep the tests readable.
type fakeClock = clocktest.Fake

func newFakeClock(start time.Time) *fakeClock { return clocktest.NewFake(start) }
