package metrics

// ServiceName prefixes every key: "rejoin.heartbeat.reset" in go-metrics,
// rejoin_heartbeat_reset in Prometheus.
const ServiceName = "rejoin"

// Keys recorded by the Recorder (without the service prefix). The
// heartbeat package emits its own names (heartbeat.MetricReset and so on:
// heartbeat.reset, heartbeat.expired, heartbeat.held,
// heartbeat.breaker.opened, heartbeat.breaker.closed and the gauge
// heartbeat.breaker.open), and so does the eval worker
// (reconcile.MetricPlanStale, reconcile.MetricKeptChanging); both are
// passed through as dotted keys.
//
// A key always carries the same label names, so a Prometheus metric family
// is never inconsistent.
var (
	// KeyNodesByStatus is a gauge per node status (label status).
	KeyNodesByStatus = []string{"nodes", "status"}
	// KeyAllocUpdateAccepted counts allocs whose client update was applied.
	KeyAllocUpdateAccepted = []string{"rpc", "alloc_update", "accepted"}
	// KeyAllocUpdateRejected counts UpdateAlloc calls refused as a whole
	// (label reason: node-not-ready, permission-denied, ...).
	KeyAllocUpdateRejected = []string{"rpc", "alloc_update", "rejected"}
	// KeyAllocUpdateSkipped counts allocs skipped in an applied update
	// (label reason: the structs.Skip* value).
	KeyAllocUpdateSkipped = []string{"rpc", "alloc_update", "skipped"}
	// KeyDecisions counts applied reconciler decisions (labels kind and
	// rule: "row_9", "step_7", "system", ...).
	KeyDecisions = []string{"reconcile", "decisions"}
	// KeyUnplaced counts placements the placer found no node for.
	KeyUnplaced = []string{"reconcile", "unplaced"}
	// KeyReconcileLatency is a timing in milliseconds from an evaluation's
	// input snapshot to its plan being written.
	KeyReconcileLatency = []string{"reconcile", "latency_ms"}
	// KeyEvalsProcessed counts evaluations whose plan was applied.
	KeyEvalsProcessed = []string{"reconcile", "evals"}
	// KeyEvalQueueReady and KeyEvalQueueDelayed are gauges of the built-in
	// worker's queue: ready evaluations and ones held until WaitUntil.
	KeyEvalQueueReady   = []string{"eval", "queue", "ready"}
	KeyEvalQueueDelayed = []string{"eval", "queue", "delayed"}
	// KeyJobRegister and KeyJobDeregister count job endpoint writes.
	KeyJobRegister   = []string{"job", "register"}
	KeyJobDeregister = []string{"job", "deregister"}
	// KeySnapshotWritten samples how long each data-directory snapshot
	// took to write (milliseconds); KeySnapshotFailed counts the ones that
	// failed; KeyLogSegmentsRemoved counts command-log segments deleted
	// because a snapshot covered them.
	KeySnapshotWritten    = []string{"persist", "snapshot_ms"}
	KeySnapshotFailed     = []string{"persist", "snapshot_failed"}
	KeyLogSegmentsRemoved = []string{"persist", "log_segments_removed"}
)
