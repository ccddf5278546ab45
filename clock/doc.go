// Package clock is the seam between rejoin and time: a small Clock interface,
// the system implementation, and nothing else. Every package that needs time
// takes a Clock so tests and simulations can drive it by hand (see
// testutil.FakeClock); reconcile takes time only as an input.
package clock
