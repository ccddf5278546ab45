package metrics

import (
	"sort"
	"strings"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
)

// Recorder records rejoin's metrics into a go-metrics sink. The zero value
// and a nil *Recorder discard everything. It satisfies heartbeat.Metrics.
type Recorder struct {
	m *gometrics.Metrics
}

// New returns a Recorder writing to sink (nil: discard). It does not touch
// go-metrics' global instance, so several servers in one process keep
// their metrics apart.
func New(sink gometrics.MetricSink) *Recorder {
	if sink == nil {
		sink = &gometrics.BlackholeSink{}
	}
	cfg := gometrics.DefaultConfig(ServiceName)
	cfg.EnableHostname = false
	cfg.EnableRuntimeMetrics = false
	cfg.HostName = ""
	m, _ := gometrics.New(cfg, sink) // New never fails
	return &Recorder{m: m}
}

func (r *Recorder) ok() bool { return r != nil && r.m != nil }

// IncrCounter adds v to a counter named by a dotted key
// ("heartbeat.reset"). It is the heartbeat.Metrics hook.
func (r *Recorder) IncrCounter(name string, v int) {
	if !r.ok() || v == 0 {
		return
	}
	r.m.IncrCounter(strings.Split(name, "."), float32(v))
}

// SetGauge sets a gauge named by a dotted key. It is the heartbeat.Metrics
// hook.
func (r *Recorder) SetGauge(name string, v float64) {
	if !r.ok() {
		return
	}
	r.m.SetPrecisionGauge(strings.Split(name, "."), v)
}

// AllocUpdate records one applied UpdateAlloc call: accepted allocs and
// the per-alloc skips by reason.
func (r *Recorder) AllocUpdate(accepted int, skippedByReason map[string]int) {
	if !r.ok() {
		return
	}
	if accepted > 0 {
		r.m.IncrCounter(KeyAllocUpdateAccepted, float32(accepted))
	}
	for reason, n := range skippedByReason {
		r.m.IncrCounterWithLabels(KeyAllocUpdateSkipped, float32(n), []gometrics.Label{{Name: "reason", Value: reason}})
	}
}

// AllocRejected records an UpdateAlloc call refused as a whole.
func (r *Recorder) AllocRejected(err error) {
	if !r.ok() {
		return
	}
	r.m.IncrCounterWithLabels(KeyAllocUpdateRejected, 1, []gometrics.Label{{Name: "reason", Value: ErrorReason(err)}})
}

// Decision records one applied decision of kind (place, stop, disconnect,
// reconnect, update, followup) made by rule (see RuleOf).
func (r *Recorder) Decision(kind, rule string) {
	if !r.ok() {
		return
	}
	r.m.IncrCounterWithLabels(KeyDecisions, 1, []gometrics.Label{{Name: "kind", Value: kind}, {Name: "rule", Value: rule}})
}

// Evaluated records one evaluation whose plan was written: the latency
// from its input snapshot to the write, and how many placements found no
// node.
func (r *Recorder) Evaluated(latency time.Duration, unplaced int) {
	if !r.ok() {
		return
	}
	r.m.IncrCounter(KeyEvalsProcessed, 1)
	r.m.AddSample(KeyReconcileLatency, float32(latency.Seconds()*1000))
	if unplaced > 0 {
		r.m.IncrCounter(KeyUnplaced, float32(unplaced))
	}
}

// Snapshot records one data-directory snapshot: how long it took, whether
// it failed, and how many command-log segments it let go.
func (r *Recorder) Snapshot(took time.Duration, err error, segmentsRemoved int) {
	if !r.ok() {
		return
	}
	if err != nil {
		r.m.IncrCounter(KeySnapshotFailed, 1)
		return
	}
	r.m.AddSample(KeySnapshotWritten, float32(took.Seconds()*1000))
	if segmentsRemoved > 0 {
		r.m.IncrCounter(KeyLogSegmentsRemoved, float32(segmentsRemoved))
	}
}

// EvalQueue sets the evaluation queue gauges.
func (r *Recorder) EvalQueue(ready, delayed int) {
	if !r.ok() {
		return
	}
	r.m.SetGauge(KeyEvalQueueReady, float32(ready))
	r.m.SetGauge(KeyEvalQueueDelayed, float32(delayed))
}

// NodesByStatus sets one gauge per status. Statuses missing from counts
// but listed in statuses are set to 0, so a status that emptied shows 0
// rather than its last value.
func (r *Recorder) NodesByStatus(counts map[string]int, statuses ...string) {
	if !r.ok() {
		return
	}
	all := map[string]int{}
	for _, s := range statuses {
		all[s] = 0
	}
	for s, n := range counts {
		all[s] = n
	}
	keys := make([]string, 0, len(all))
	for s := range all {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	for _, s := range keys {
		r.m.SetGaugeWithLabels(KeyNodesByStatus, float32(all[s]), []gometrics.Label{{Name: "status", Value: s}})
	}
}

// Count adds 1 to a counter key (job registrations and the like).
func (r *Recorder) Count(key []string) {
	if !r.ok() {
		return
	}
	r.m.IncrCounter(key, 1)
}
