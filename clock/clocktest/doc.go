// Package clocktest is a deterministic clock.Clock for tests and
// simulations: time moves only when a test says so, and timers fire in
// deadline order in the goroutine that moves it. It imports nothing of
// rejoin but clock, so any package's own tests can use it without an import
// cycle (testutil re-exports it as testutil.FakeClock).
package clocktest
