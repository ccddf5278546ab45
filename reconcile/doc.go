// Package reconcile is the pure reconnect-versus-replace decision engine:
// Compute turns a job, its allocations, their nodes and the time into
// decisions with reasons; Apply turns decisions into one store command. It
// does no I/O and reads no clock or randomness: time is an input.
package reconcile
