// Package heartbeat tracks client heartbeats for very many nodes: one
// deadline structure and one timer, rate-scaled TTLs with grace and stagger,
// the failover TTL after a leadership change, and the decision to mark a
// silent node disconnected or down. It never reads the wall clock directly.
package heartbeat
