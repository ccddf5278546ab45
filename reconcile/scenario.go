package reconcile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Scenario is one decoded scenario file (SCENARIOS.md): the input of a
// Compute call and, optionally, the decisions it must produce.
type Scenario struct {
	Name        string
	Description string
	Input       Input
	// Expect is nil when the file has no Expect.
	Expect *Results
}

// ScenarioError is a scenario that cannot be understood. Field names the
// offending field as a path (e.g. "Allocs[2].ClientStatus"); the error
// matches structs.ErrInvalidRequest.
type ScenarioError struct {
	Field string
	Msg   string
	Err   error
}

func (e *ScenarioError) Error() string {
	if e.Field == "" {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// Is makes every scenario error match structs.ErrInvalidRequest.
func (e *ScenarioError) Is(target error) bool { return target == structs.ErrInvalidRequest }

// Unwrap exposes the underlying error (a JSON or time parse error), if any.
func (e *ScenarioError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) *ScenarioError {
	return &ScenarioError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// LoadScenario reads and decodes a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	return DecodeScenario(bytes.NewReader(b))
}

// DecodeScenario decodes and validates a scenario. Unknown fields are
// ignored; durations are Go duration strings or integer nanoseconds; times
// are RFC 3339 (or integer unix nanoseconds).
func DecodeScenario(r io.Reader) (*Scenario, error) {
	var raw rawScenario
	dec := json.NewDecoder(r)
	if err := dec.Decode(&raw); err != nil {
		return nil, jsonError(err)
	}
	if dec.More() {
		return nil, &ScenarioError{Msg: "bad JSON: more than one value in the file"}
	}
	return raw.convert()
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &ScenarioError{Msg: fmt.Sprintf("bad JSON at byte %d: %v", syn.Offset, syn), Err: err}
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(top level)"
		}
		return &ScenarioError{Field: field, Msg: fmt.Sprintf("cannot use JSON %s as %s", typ.Value, typ.Type), Err: err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &ScenarioError{Msg: "bad JSON: unexpected end of input", Err: err}
	}
	return &ScenarioError{Msg: "bad JSON: " + err.Error(), Err: err}
}

// --- raw JSON shapes ------------------------------------------------------

type rawScenario struct {
	Name        string
	Description string
	Now         json.RawMessage
	EvalID      string
	Job         *rawJob
	Nodes       []*structs.Node
	Allocs      []*rawAlloc
	Expect      *rawResults
}

type rawJob struct {
	ID, Namespace, Name, Type string
	Priority                  int
	Version                   uint64
	CreateIndex, ModifyIndex  uint64
	Stop, UpdateInPlace       bool
	TaskGroups                []*rawGroup
}

type rawGroup struct {
	Name                      string
	Count                     int
	Disconnect                *rawDisconnect
	MaxClientDisconnect       json.RawMessage
	StopAfterClientDisconnect json.RawMessage
	PreventRescheduleOnLost   bool
	ReschedulePolicy          *rawPolicy
}

type rawDisconnect struct {
	LostAfter         json.RawMessage
	Replace           *bool
	Reconcile         string
	StopOnClientAfter json.RawMessage
}

type rawPolicy struct {
	Attempts        int
	Interval, Delay json.RawMessage
	DelayFunction   string
	MaxDelay        json.RawMessage
	Unlimited       bool
}

type rawAlloc struct {
	ID, Namespace, EvalID, Name, NodeID, JobID, TaskGroup string
	JobVersion                                            uint64
	DesiredStatus, DesiredDescription                     string
	ClientStatus, ClientDescription                       string
	AllocStates                                           []*rawState
	PreviousAllocation, NextAllocation, FollowupEvalID    string
	Metrics                                               *structs.AllocMetric
	TaskStates                                            map[string]*rawTaskState
	RescheduleTracker                                     *struct{ Events []*rawEvent }
	CreateIndex, ModifyIndex, AllocModifyIndex            uint64
	CreateTime, ModifyTime                                int64
}

type rawState struct {
	Field json.RawMessage
	Value string
	Time  json.RawMessage
}

type rawTaskState struct {
	State                              string
	Failed                             bool
	Restarts                           uint64
	LastRestart, StartedAt, FinishedAt json.RawMessage
}

type rawEvent struct {
	RescheduleTime          json.RawMessage
	PrevAllocID, PrevNodeID string
	Delay                   json.RawMessage
}

type rawResults struct {
	Place []struct {
		Name, TaskGroup, PreviousAllocation, NodeID, Reason string
	}
	Stop []struct {
		AllocID, ClientStatus, Description, Reason string
	}
	Disconnect, Reconnect, Update []struct{ AllocID, Reason string }
	FollowUps                     []struct {
		TriggeredBy string
		WaitUntil   json.RawMessage
		TaskGroup   string
		AllocIDs    []string
		Reason      string
	}
}

// --- conversion and validation ---------------------------------------------

func (raw *rawScenario) convert() (*Scenario, error) {
	s := &Scenario{Name: raw.Name, Description: raw.Description}
	now, err := parseTime(raw.Now, "Now")
	if err != nil {
		return nil, err
	}
	if now.IsZero() {
		return nil, fieldErr("Now", "missing")
	}
	s.Input.Now = now
	s.Input.EvalID = raw.EvalID
	if raw.Job == nil {
		return nil, fieldErr("Job", "missing")
	}
	job, err := raw.Job.convert()
	if err != nil {
		return nil, err
	}
	s.Input.Job = job

	s.Input.Nodes = make(map[string]*structs.Node, len(raw.Nodes))
	for i, n := range raw.Nodes {
		p := fmt.Sprintf("Nodes[%d]", i)
		if n == nil {
			return nil, fieldErr(p, "is null")
		}
		if n.ID == "" {
			return nil, fieldErr(p+".ID", "missing")
		}
		if _, dup := s.Input.Nodes[n.ID]; dup {
			return nil, fieldErr(p+".ID", "duplicate node ID %q", n.ID)
		}
		if !structs.ValidNodeStatus(n.Status) {
			return nil, fieldErr(p+".Status", "unknown status %q", n.Status)
		}
		switch n.SchedulingEligibility {
		case "", structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible:
		default:
			return nil, fieldErr(p+".SchedulingEligibility", "unknown value %q", n.SchedulingEligibility)
		}
		s.Input.Nodes[n.ID] = n
	}

	seen := make(map[string]bool, len(raw.Allocs))
	s.Input.Allocs = make([]*structs.Allocation, 0, len(raw.Allocs))
	for i, ra := range raw.Allocs {
		p := fmt.Sprintf("Allocs[%d]", i)
		if ra == nil {
			return nil, fieldErr(p, "is null")
		}
		a, err := ra.convert(p, job)
		if err != nil {
			return nil, err
		}
		if seen[a.ID] {
			return nil, fieldErr(p+".ID", "duplicate alloc ID %q", a.ID)
		}
		seen[a.ID] = true
		s.Input.Allocs = append(s.Input.Allocs, a)
	}

	if raw.Expect != nil {
		exp, err := raw.Expect.convert()
		if err != nil {
			return nil, err
		}
		s.Expect = exp
	}
	return s, nil
}

func (rj *rawJob) convert() (*structs.Job, error) {
	j := &structs.Job{
		ID: rj.ID, Namespace: rj.Namespace, Name: rj.Name, Type: rj.Type, Priority: rj.Priority,
		Version: rj.Version, CreateIndex: rj.CreateIndex, ModifyIndex: rj.ModifyIndex,
		Stop: rj.Stop, UpdateInPlace: rj.UpdateInPlace,
	}
	if j.ID == "" {
		return nil, fieldErr("Job.ID", "missing")
	}
	switch j.Type {
	case "":
		j.Type = structs.JobTypeService
	case structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem:
	default:
		return nil, fieldErr("Job.Type", "unknown job type %q (service, batch or system)", rj.Type)
	}
	names := map[string]bool{}
	for i, rg := range rj.TaskGroups {
		p := fmt.Sprintf("Job.TaskGroups[%d]", i)
		if rg == nil {
			return nil, fieldErr(p, "is null")
		}
		tg, err := rg.convert(p)
		if err != nil {
			return nil, err
		}
		if names[tg.Name] {
			return nil, fieldErr(p+".Name", "duplicate task group %q", tg.Name)
		}
		names[tg.Name] = true
		j.TaskGroups = append(j.TaskGroups, tg)
	}
	return j, nil
}

func (rg *rawGroup) convert(p string) (*structs.TaskGroup, error) {
	tg := &structs.TaskGroup{Name: rg.Name, Count: rg.Count, PreventRescheduleOnLost: rg.PreventRescheduleOnLost}
	if tg.Name == "" {
		return nil, fieldErr(p+".Name", "missing")
	}
	if tg.Count < 0 {
		return nil, fieldErr(p+".Count", "negative count %d", tg.Count)
	}
	var err error
	if tg.MaxClientDisconnect, err = parseDurationPtr(rg.MaxClientDisconnect, p+".MaxClientDisconnect"); err != nil {
		return nil, err
	}
	if tg.StopAfterClientDisconnect, err = parseDurationPtr(rg.StopAfterClientDisconnect, p+".StopAfterClientDisconnect"); err != nil {
		return nil, err
	}
	if d := rg.Disconnect; d != nil {
		dp := p + ".Disconnect"
		ds := &structs.DisconnectStrategy{Replace: d.Replace, Reconcile: d.Reconcile}
		if ds.LostAfter, err = parseDuration(d.LostAfter, dp+".LostAfter"); err != nil {
			return nil, err
		}
		if ds.StopOnClientAfter, err = parseDurationPtr(d.StopOnClientAfter, dp+".StopOnClientAfter"); err != nil {
			return nil, err
		}
		if ds.LostAfter != 0 && ds.StopOnClientAfter != nil {
			return nil, fieldErr(dp, "LostAfter and StopOnClientAfter cannot both be set")
		}
		switch ds.Reconcile {
		case "", structs.ReconcileOptionKeepOriginal, structs.ReconcileOptionKeepReplacement,
			structs.ReconcileOptionBestScore, structs.ReconcileOptionLongestRunning:
		default:
			return nil, fieldErr(dp+".Reconcile", "unknown strategy %q (keep_original, keep_replacement, best_score or longest_running)", ds.Reconcile)
		}
		tg.Disconnect = ds
	}
	if rp := rg.ReschedulePolicy; rp != nil {
		pp := p + ".ReschedulePolicy"
		pol := &structs.ReschedulePolicy{Attempts: rp.Attempts, DelayFunction: rp.DelayFunction, Unlimited: rp.Unlimited}
		if pol.Attempts < 0 {
			return nil, fieldErr(pp+".Attempts", "negative attempts %d", pol.Attempts)
		}
		if pol.Interval, err = parseDuration(rp.Interval, pp+".Interval"); err != nil {
			return nil, err
		}
		if pol.Delay, err = parseDuration(rp.Delay, pp+".Delay"); err != nil {
			return nil, err
		}
		if pol.MaxDelay, err = parseDuration(rp.MaxDelay, pp+".MaxDelay"); err != nil {
			return nil, err
		}
		tg.ReschedulePolicy = pol
	}
	return tg, nil
}

func (ra *rawAlloc) convert(p string, job *structs.Job) (*structs.Allocation, error) {
	a := &structs.Allocation{
		ID: ra.ID, Namespace: ra.Namespace, EvalID: ra.EvalID, Name: ra.Name, NodeID: ra.NodeID,
		JobID: ra.JobID, JobVersion: ra.JobVersion, TaskGroup: ra.TaskGroup,
		DesiredStatus: ra.DesiredStatus, DesiredDescription: ra.DesiredDescription,
		ClientStatus: ra.ClientStatus, ClientDescription: ra.ClientDescription,
		PreviousAllocation: ra.PreviousAllocation, NextAllocation: ra.NextAllocation,
		FollowupEvalID: ra.FollowupEvalID, Metrics: ra.Metrics,
		CreateIndex: ra.CreateIndex, ModifyIndex: ra.ModifyIndex, AllocModifyIndex: ra.AllocModifyIndex,
		CreateTime: ra.CreateTime, ModifyTime: ra.ModifyTime,
	}
	if a.ID == "" {
		return nil, fieldErr(p+".ID", "missing")
	}
	if a.JobID == "" {
		a.JobID = job.ID
	}
	if job.LookupTaskGroup(a.TaskGroup) == nil {
		return nil, fieldErr(p+".TaskGroup", "job %q has no task group %q", job.ID, a.TaskGroup)
	}
	if !structs.ValidClientStatus(a.ClientStatus) {
		return nil, fieldErr(p+".ClientStatus", "unknown status %q", a.ClientStatus)
	}
	if !structs.ValidDesiredStatus(a.DesiredStatus) {
		return nil, fieldErr(p+".DesiredStatus", "unknown status %q", a.DesiredStatus)
	}
	for i, rs := range ra.AllocStates {
		sp := fmt.Sprintf("%s.AllocStates[%d]", p, i)
		if rs == nil {
			return nil, fieldErr(sp, "is null")
		}
		field, err := parseStateField(rs.Field, sp+".Field")
		if err != nil {
			return nil, err
		}
		if rs.Value != "" && !structs.ValidClientStatus(rs.Value) {
			return nil, fieldErr(sp+".Value", "unknown status %q", rs.Value)
		}
		t, err := parseTime(rs.Time, sp+".Time")
		if err != nil {
			return nil, err
		}
		a.AllocStates = append(a.AllocStates, &structs.AllocState{Field: field, Value: rs.Value, Time: t})
	}
	if ra.TaskStates != nil {
		a.TaskStates = make(map[string]*structs.TaskState, len(ra.TaskStates))
		for name, rt := range ra.TaskStates {
			tp := fmt.Sprintf("%s.TaskStates[%q]", p, name)
			if rt == nil {
				continue
			}
			t := &structs.TaskState{State: rt.State, Failed: rt.Failed, Restarts: rt.Restarts}
			var err error
			if t.LastRestart, err = parseTime(rt.LastRestart, tp+".LastRestart"); err != nil {
				return nil, err
			}
			if t.StartedAt, err = parseTime(rt.StartedAt, tp+".StartedAt"); err != nil {
				return nil, err
			}
			if t.FinishedAt, err = parseTime(rt.FinishedAt, tp+".FinishedAt"); err != nil {
				return nil, err
			}
			a.TaskStates[name] = t
		}
	}
	if ra.RescheduleTracker != nil {
		a.RescheduleTracker = &structs.RescheduleTracker{}
		for i, ev := range ra.RescheduleTracker.Events {
			ep := fmt.Sprintf("%s.RescheduleTracker.Events[%d]", p, i)
			if ev == nil {
				return nil, fieldErr(ep, "is null")
			}
			t, err := parseTime(ev.RescheduleTime, ep+".RescheduleTime")
			if err != nil {
				return nil, err
			}
			d, err := parseDuration(ev.Delay, ep+".Delay")
			if err != nil {
				return nil, err
			}
			a.RescheduleTracker.Events = append(a.RescheduleTracker.Events, &structs.RescheduleEvent{
				RescheduleTime: t.UnixNano(), PrevAllocID: ev.PrevAllocID, PrevNodeID: ev.PrevNodeID, Delay: d,
			})
		}
	}
	return a, nil
}

func (rr *rawResults) convert() (*Results, error) {
	r := newResults()
	for _, p := range rr.Place {
		r.Place = append(r.Place, Placement{Name: p.Name, TaskGroup: p.TaskGroup, PreviousAllocation: p.PreviousAllocation, NodeID: p.NodeID, Reason: p.Reason})
	}
	for i, s := range rr.Stop {
		switch s.ClientStatus {
		case "", structs.AllocClientStatusLost, structs.AllocClientStatusFailed:
		default:
			return nil, fieldErr(fmt.Sprintf("Expect.Stop[%d].ClientStatus", i), "must be lost, failed or empty, not %q", s.ClientStatus)
		}
		r.Stop = append(r.Stop, Stop{AllocID: s.AllocID, ClientStatus: s.ClientStatus, Description: s.Description, Reason: s.Reason})
	}
	for _, d := range rr.Disconnect {
		r.Disconnect = append(r.Disconnect, AllocDecision{AllocID: d.AllocID, Reason: d.Reason})
	}
	for _, d := range rr.Reconnect {
		r.Reconnect = append(r.Reconnect, AllocDecision{AllocID: d.AllocID, Reason: d.Reason})
	}
	for _, d := range rr.Update {
		r.Update = append(r.Update, AllocDecision{AllocID: d.AllocID, Reason: d.Reason})
	}
	for i, f := range rr.FollowUps {
		t, err := parseTime(f.WaitUntil, fmt.Sprintf("Expect.FollowUps[%d].WaitUntil", i))
		if err != nil {
			return nil, err
		}
		r.FollowUps = append(r.FollowUps, FollowUp{TriggeredBy: f.TriggeredBy, WaitUntil: t, TaskGroup: f.TaskGroup, AllocIDs: f.AllocIDs, Reason: f.Reason})
	}
	r.sort()
	return r, nil
}

// --- scalar parsers ---------------------------------------------------------

func isNull(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s == "" || s == "null"
}

// parseDuration reads a Go duration string or integer nanoseconds; absent or
// null is zero. Negative durations are errors.
func parseDuration(raw json.RawMessage, field string) (time.Duration, error) {
	d, err := parseDurationPtr(raw, field)
	if err != nil || d == nil {
		return 0, err
	}
	return *d, nil
}

// parseDurationPtr is parseDuration keeping absent/null apart from zero.
func parseDurationPtr(raw json.RawMessage, field string) (*time.Duration, error) {
	if isNull(raw) {
		return nil, nil
	}
	var d time.Duration
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, &ScenarioError{Field: field, Msg: "bad duration string", Err: err}
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return nil, &ScenarioError{Field: field, Msg: fmt.Sprintf("bad duration %q (want e.g. \"5m\" or integer nanoseconds)", s), Err: err}
		}
		d = v
	} else {
		v, err := strconv.ParseInt(string(raw), 10, 64)
		if err != nil {
			return nil, &ScenarioError{Field: field, Msg: fmt.Sprintf("bad duration %s (want e.g. \"5m\" or integer nanoseconds)", raw), Err: err}
		}
		d = time.Duration(v)
	}
	if d < 0 {
		return nil, fieldErr(field, "negative duration %s", d)
	}
	return &d, nil
}

// parseTime reads an RFC 3339 time (or integer unix nanoseconds) as UTC;
// absent, null or "" is the zero time.
func parseTime(raw json.RawMessage, field string) (time.Time, error) {
	if isNull(raw) {
		return time.Time{}, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, &ScenarioError{Field: field, Msg: "bad time string", Err: err}
		}
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, &ScenarioError{Field: field, Msg: fmt.Sprintf("bad time %q (want RFC 3339)", s), Err: err}
		}
		return t.UTC(), nil
	}
	v, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return time.Time{}, &ScenarioError{Field: field, Msg: fmt.Sprintf("bad time %s (want RFC 3339 or integer unix nanoseconds)", raw), Err: err}
	}
	return time.Unix(0, v).UTC(), nil
}

// parseStateField accepts "ClientStatus" or Nomad's numeric 0.
func parseStateField(raw json.RawMessage, field string) (structs.AllocStateField, error) {
	s := strings.TrimSpace(string(raw))
	switch s {
	case `"ClientStatus"`, "0", "", "null":
		return structs.AllocStateFieldClientStatus, nil
	}
	return 0, fieldErr(field, "unknown AllocState field %s (want \"ClientStatus\" or 0)", s)
}
