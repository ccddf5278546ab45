// Package testutil holds what tests and simulations share: a fake clock,
// mock factories, simulated clients and networks, the cluster harness and
// invariant checkers. Only tests and cmd/ may import it.
package testutil
