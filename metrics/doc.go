// Package metrics names rejoin's metrics and records them through
// github.com/hashicorp/go-metrics: heartbeats, node statuses, expirations,
// the mass-disconnect breaker, alloc updates accepted and rejected, the
// reconciler's decisions and latency, the evaluation queue, and the data
// directory's snapshots and command-log compaction. It also
// serves a Prometheus sink (and, optionally, net/http/pprof) over HTTP.
//
// The Recorder is what the rest of rejoin calls; it never blocks on I/O
// (sinks aggregate in memory) and is safe for concurrent use.
package metrics
