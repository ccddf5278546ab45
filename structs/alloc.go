package structs

import (
	"maps"
	"time"
)

// AllocStateField names what an AllocState records. Nomad encodes it as a
// uint8 enum whose only value is 0, ClientStatus.
type AllocStateField uint8

// AllocStateFieldClientStatus is the only AllocState field: the allocation's
// client status as the server saw it at Time.
const AllocStateFieldClientStatus AllocStateField = 0

// String returns the field's name as scenario files write it.
func (f AllocStateField) String() string {
	if f == AllocStateFieldClientStatus {
		return "ClientStatus"
	}
	return "AllocStateField(" + itoa(uint64(f)) + ")"
}

// AllocState is one entry of an allocation's server-side history. The list is
// append-only and its times never go backwards; the last ClientStatus entry
// tells the reconciler whether the allocation is reconnecting.
type AllocState struct {
	Field AllocStateField
	Value string
	Time  time.Time
}

// Allocation is one instance of a task group placed on a node.
type Allocation struct {
	ID                 string
	Namespace          string
	EvalID             string
	Name               string
	NodeID             string
	JobID              string
	JobVersion         uint64
	TaskGroup          string
	DesiredStatus      string
	DesiredDescription string
	ClientStatus       string
	ClientDescription  string
	AllocStates        []*AllocState
	PreviousAllocation string
	NextAllocation     string
	FollowupEvalID     string
	Metrics            *AllocMetric
	TaskStates         map[string]*TaskState
	RescheduleTracker  *RescheduleTracker
	CreateIndex        uint64
	ModifyIndex        uint64
	AllocModifyIndex   uint64
	CreateTime         int64 // unix nanoseconds, as Nomad
	ModifyTime         int64 // unix nanoseconds, as Nomad
}

// AllocMetric holds what the placement decided; only the scores matter here.
type AllocMetric struct {
	ScoreMetaData []*NodeScoreMeta
}

// NodeScoreMeta is the score a node got when the allocation was placed.
type NodeScoreMeta struct {
	NodeID    string
	Scores    map[string]float64
	NormScore float64
}

// TaskState is what the client reports about one task of an allocation.
type TaskState struct {
	State       string
	Failed      bool
	Restarts    uint64
	LastRestart time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
}

// RescheduleTracker records the reschedules that led to an allocation.
type RescheduleTracker struct {
	Events []*RescheduleEvent
}

// RescheduleEvent is one reschedule; RescheduleTime is unix nanoseconds.
type RescheduleEvent struct {
	RescheduleTime int64
	PrevAllocID    string
	PrevNodeID     string
	Delay          time.Duration
}

// TerminalStatus reports whether the allocation is server- or client-terminal.
func (a *Allocation) TerminalStatus() bool {
	return ServerTerminalStatus(a.DesiredStatus) || ClientTerminalStatus(a.ClientStatus)
}

// ServerTerminalStatus reports whether the server has asked the alloc to stop.
func (a *Allocation) ServerTerminalStatus() bool { return ServerTerminalStatus(a.DesiredStatus) }

// ClientTerminalStatus reports whether the client has finished the alloc.
func (a *Allocation) ClientTerminalStatus() bool { return ClientTerminalStatus(a.ClientStatus) }

// LastClientStatusState returns the last ClientStatus AllocState with a
// non-empty value, or nil. Entries with an empty value are ignored.
func (a *Allocation) LastClientStatusState() *AllocState {
	for i := len(a.AllocStates) - 1; i >= 0; i-- {
		s := a.AllocStates[i]
		if s != nil && s.Field == AllocStateFieldClientStatus && s.Value != "" {
			return s
		}
	}
	return nil
}

// LastClientStatus returns the value of LastClientStatusState, or "".
func (a *Allocation) LastClientStatus() string {
	if s := a.LastClientStatusState(); s != nil {
		return s.Value
	}
	return ""
}

// NeedsToReconnect reports whether the server last recorded the allocation as
// unknown: it was on a node that disconnected and no reconnect has been
// handled since.
func (a *Allocation) NeedsToReconnect() bool {
	return a.LastClientStatus() == AllocClientStatusUnknown
}

// LastUnknown returns when the allocation last went unknown: the time of the
// first entry of the final unbroken run of unknown ClientStatus entries. It
// returns the zero time when the last ClientStatus entry is not unknown.
func (a *Allocation) LastUnknown() time.Time {
	var t time.Time
	for i := len(a.AllocStates) - 1; i >= 0; i-- {
		s := a.AllocStates[i]
		if s == nil || s.Field != AllocStateFieldClientStatus || s.Value == "" {
			continue
		}
		if s.Value != AllocClientStatusUnknown {
			break
		}
		t = s.Time
	}
	return t
}

// Expired reports whether an unknown allocation has been disconnected for at
// least lostAfter at now. The bound is inclusive, and with lostAfter of zero
// an unknown allocation is expired at once. A live (non-unknown) allocation
// never expires.
func (a *Allocation) Expired(now time.Time, lostAfter time.Duration) bool {
	if a.ClientStatus != AllocClientStatusUnknown {
		return false
	}
	if lostAfter <= 0 {
		return true
	}
	last := a.LastUnknown()
	if last.IsZero() {
		// Unknown with no recorded time: nothing bounds the window, treat
		// it as having started at the beginning of time.
		return true
	}
	return !last.Add(lostAfter).After(now)
}

// AppendState appends an AllocState for field with value at t. AllocStates
// are append-only and their times never go backwards: a t earlier than the
// last entry's time is replaced by that time. It returns the appended entry.
func (a *Allocation) AppendState(field AllocStateField, value string, t time.Time) *AllocState {
	if n := len(a.AllocStates); n > 0 {
		if last := a.AllocStates[n-1]; last != nil && t.Before(last.Time) {
			t = last.Time
		}
	}
	s := &AllocState{Field: field, Value: value, Time: t}
	a.AllocStates = append(a.AllocStates, s)
	return s
}

// Copy returns a deep copy of the allocation, or nil for nil.
func (a *Allocation) Copy() *Allocation {
	if a == nil {
		return nil
	}
	c := *a
	if a.AllocStates != nil {
		c.AllocStates = make([]*AllocState, len(a.AllocStates))
		for i, s := range a.AllocStates {
			if s != nil {
				cs := *s
				c.AllocStates[i] = &cs
			}
		}
	}
	c.Metrics = a.Metrics.Copy()
	if a.TaskStates != nil {
		c.TaskStates = make(map[string]*TaskState, len(a.TaskStates))
		for k, v := range a.TaskStates {
			c.TaskStates[k] = v.Copy()
		}
	}
	c.RescheduleTracker = a.RescheduleTracker.Copy()
	return &c
}

// CopySkipStates returns a copy that shares nothing mutable with a except
// the AllocStates entries, which are immutable once appended. Callers that
// append to AllocStates get a fresh backing array. It is the cheap copy for
// store writes.
func (a *Allocation) CopySkipStates() *Allocation {
	if a == nil {
		return nil
	}
	c := *a
	c.AllocStates = a.AllocStates[:len(a.AllocStates):len(a.AllocStates)]
	return &c
}

// Copy returns a deep copy, or nil for nil.
func (m *AllocMetric) Copy() *AllocMetric {
	if m == nil {
		return nil
	}
	c := &AllocMetric{}
	if m.ScoreMetaData != nil {
		c.ScoreMetaData = make([]*NodeScoreMeta, len(m.ScoreMetaData))
		for i, s := range m.ScoreMetaData {
			if s != nil {
				cs := *s
				cs.Scores = maps.Clone(s.Scores)
				c.ScoreMetaData[i] = &cs
			}
		}
	}
	return c
}

// MaxNormScore returns the highest NormScore recorded, and false when there
// is none.
func (m *AllocMetric) MaxNormScore() (float64, bool) {
	if m == nil {
		return 0, false
	}
	best, ok := 0.0, false
	for _, s := range m.ScoreMetaData {
		if s == nil {
			continue
		}
		if !ok || s.NormScore > best {
			best, ok = s.NormScore, true
		}
	}
	return best, ok
}

// Copy returns a copy, or nil for nil.
func (t *TaskState) Copy() *TaskState {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// Copy returns a deep copy, or nil for nil.
func (r *RescheduleTracker) Copy() *RescheduleTracker {
	if r == nil {
		return nil
	}
	c := &RescheduleTracker{}
	if r.Events != nil {
		c.Events = make([]*RescheduleEvent, len(r.Events))
		for i, e := range r.Events {
			if e != nil {
				ce := *e
				c.Events[i] = &ce
			}
		}
	}
	return c
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
