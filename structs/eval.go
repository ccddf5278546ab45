package structs

import "time"

// Evaluation statuses.
const (
	EvalStatusPending  = "pending"
	EvalStatusBlocked  = "blocked"
	EvalStatusComplete = "complete"
	EvalStatusFailed   = "failed"
	EvalStatusCanceled = "canceled"
)

// What triggered an evaluation.
const (
	EvalTriggerNodeUpdate           = "node-update"
	EvalTriggerMaxDisconnectTimeout = "max-disconnect-timeout"
	EvalTriggerReconnect            = "reconnect"
	EvalTriggerRetryFailedAlloc     = "alloc-failure"
	EvalTriggerAllocReschedule      = "alloc-reschedule"
	EvalTriggerJobRegister          = "job-register"
	EvalTriggerJobDeregister        = "job-deregister"
	EvalTriggerQueuedAllocs         = "queued-allocs" // placements that found no node, retried when a node becomes ready
)

// Evaluation asks the reconciler to look at one job again.
type Evaluation struct {
	ID                string
	Namespace         string
	Priority          int
	Type              string
	TriggeredBy       string
	JobID             string
	NodeID            string
	Status            string
	StatusDescription string
	// WaitUntil delays the evaluation until this server time.
	WaitUntil    time.Time
	PreviousEval string
	CreateIndex  uint64
	ModifyIndex  uint64
	CreateTime   int64 // unix nanoseconds
	ModifyTime   int64 // unix nanoseconds
}

// Copy returns a copy, or nil for nil.
func (e *Evaluation) Copy() *Evaluation {
	if e == nil {
		return nil
	}
	c := *e
	return &c
}

// TerminalStatus reports whether the evaluation needs no more work.
func (e *Evaluation) TerminalStatus() bool {
	switch e.Status {
	case EvalStatusComplete, EvalStatusFailed, EvalStatusCanceled:
		return true
	}
	return false
}
