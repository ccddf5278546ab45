package clock

import "time"

// Clock tells time and schedules callbacks.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine (System) or in the goroutine
	// that advances time (a fake) once d has elapsed. Callers must not hold
	// a lock that f takes while they advance a fake clock.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a scheduled callback.
type Timer interface {
	// Stop prevents the callback from running; it reports whether it did.
	Stop() bool
	// Reset reschedules the callback d from now; it reports whether the
	// timer had been active.
	Reset(d time.Duration) bool
}

// System is the real clock.
type System struct{}

// Now returns time.Now().
func (System) Now() time.Time { return time.Now() }

// AfterFunc wraps time.AfterFunc.
func (System) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
