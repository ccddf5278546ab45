package structs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Job types.
const (
	JobTypeService = "service"
	JobTypeBatch   = "batch"
	JobTypeSystem  = "system"
)

// DefaultNamespace is used where a namespace is left empty.
const DefaultNamespace = "default"

// Reconcile strategies: which allocation survives when a disconnected
// original comes back and its replacement is running too.
const (
	ReconcileOptionKeepOriginal    = "keep_original"
	ReconcileOptionKeepReplacement = "keep_replacement"
	ReconcileOptionBestScore       = "best_score"
	ReconcileOptionLongestRunning  = "longest_running"
)

// Default reschedule policy, used when a task group gives none.
const (
	DefaultRescheduleAttempts = 2
	DefaultRescheduleInterval = time.Hour
)

// Job is the unit users submit: task groups of allocations to keep running.
type Job struct {
	ID          string
	Namespace   string
	Name        string
	Type        string
	Priority    int
	Datacenters []string
	Version     uint64
	Stop        bool
	// UpdateInPlace says the change that produced Version can be applied to
	// running allocations in place (Nomad decides this by diffing tasks;
	// rejoin takes it as an input).
	UpdateInPlace  bool
	TaskGroups     []*TaskGroup
	CreateIndex    uint64
	ModifyIndex    uint64
	JobModifyIndex uint64
}

// TaskGroup is a set of identical allocations of a job.
type TaskGroup struct {
	Name       string
	Count      int
	Disconnect *DisconnectStrategy
	// MaxClientDisconnect is the legacy form of Disconnect.LostAfter.
	MaxClientDisconnect *time.Duration
	// StopAfterClientDisconnect is the legacy form of Disconnect.StopOnClientAfter.
	StopAfterClientDisconnect *time.Duration
	// PreventRescheduleOnLost is the legacy form of Disconnect.Replace=false.
	PreventRescheduleOnLost bool
	ReschedulePolicy        *ReschedulePolicy
}

// DisconnectStrategy says how a group's allocations behave when their node
// stops heartbeating.
type DisconnectStrategy struct {
	// LostAfter is how long an unknown allocation may wait for its node
	// before it is lost. Zero means no disconnect support.
	LostAfter time.Duration
	// Replace says whether a replacement is placed while the original is
	// unknown. Nil means true.
	Replace *bool
	// Reconcile picks the survivor when the original reconnects.
	Reconcile string
	// StopOnClientAfter makes the client stop its own allocations after it
	// has been cut off this long. It cannot be combined with LostAfter.
	StopOnClientAfter *time.Duration
}

// ReschedulePolicy bounds how often failed or lost allocations are replaced.
type ReschedulePolicy struct {
	Attempts      int
	Interval      time.Duration
	Delay         time.Duration
	DelayFunction string
	MaxDelay      time.Duration
	Unlimited     bool
}

// LookupTaskGroup returns the named group, or nil.
func (j *Job) LookupTaskGroup(name string) *TaskGroup {
	if j == nil {
		return nil
	}
	for _, tg := range j.TaskGroups {
		if tg != nil && tg.Name == name {
			return tg
		}
	}
	return nil
}

// NamespacedID returns the job's (namespace, id) key.
func (j *Job) NamespacedID() NamespacedID {
	ns := j.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return NamespacedID{Namespace: ns, ID: j.ID}
}

// NamespacedID identifies a job.
type NamespacedID struct {
	Namespace string
	ID        string
}

func (n NamespacedID) String() string { return n.Namespace + "/" + n.ID }

// LostAfter returns Disconnect.LostAfter, else the legacy MaxClientDisconnect,
// else zero (no disconnect support).
func (tg *TaskGroup) LostAfter() time.Duration {
	if tg == nil {
		return 0
	}
	if tg.Disconnect != nil {
		return tg.Disconnect.LostAfter
	}
	if tg.MaxClientDisconnect != nil {
		return *tg.MaxClientDisconnect
	}
	return 0
}

// Replace reports whether replacements are placed for unknown allocations:
// Disconnect.Replace, true when absent.
func (tg *TaskGroup) Replace() bool {
	if tg == nil {
		return true
	}
	if tg.Disconnect != nil {
		return tg.Disconnect.Replace == nil || *tg.Disconnect.Replace
	}
	return !tg.PreventRescheduleOnLost
}

// ReconcileStrategy returns the group's reconcile option, best_score when unset.
func (tg *TaskGroup) ReconcileStrategy() string {
	if tg == nil || tg.Disconnect == nil || tg.Disconnect.Reconcile == "" {
		return ReconcileOptionBestScore
	}
	return tg.Disconnect.Reconcile
}

// StopOnClientAfter returns the client-side stop window, or nil.
func (tg *TaskGroup) StopOnClientAfter() *time.Duration {
	if tg == nil {
		return nil
	}
	if tg.Disconnect != nil && tg.Disconnect.StopOnClientAfter != nil {
		return tg.Disconnect.StopOnClientAfter
	}
	return tg.StopAfterClientDisconnect
}

// EffectiveReschedulePolicy returns the group's policy or the default one.
func (tg *TaskGroup) EffectiveReschedulePolicy() ReschedulePolicy {
	if tg == nil || tg.ReschedulePolicy == nil {
		return ReschedulePolicy{Attempts: DefaultRescheduleAttempts, Interval: DefaultRescheduleInterval}
	}
	return *tg.ReschedulePolicy
}

// Validate checks the disconnect block: LostAfter and StopOnClientAfter are
// exclusive, durations are not negative, and Reconcile is a known option.
func (d *DisconnectStrategy) Validate() error {
	if d == nil {
		return nil
	}
	var errs []error
	if d.LostAfter < 0 {
		errs = append(errs, fmt.Errorf("disconnect.lost_after %s is negative", d.LostAfter))
	}
	if d.StopOnClientAfter != nil && *d.StopOnClientAfter < 0 {
		errs = append(errs, fmt.Errorf("disconnect.stop_on_client_after %s is negative", *d.StopOnClientAfter))
	}
	if d.LostAfter != 0 && d.StopOnClientAfter != nil {
		errs = append(errs, errors.New("disconnect.lost_after and disconnect.stop_on_client_after cannot both be set"))
	}
	switch d.Reconcile {
	case "", ReconcileOptionKeepOriginal, ReconcileOptionKeepReplacement,
		ReconcileOptionBestScore, ReconcileOptionLongestRunning:
	default:
		errs = append(errs, fmt.Errorf("disconnect.reconcile %q is not one of keep_original, keep_replacement, best_score, longest_running", d.Reconcile))
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errs: errs}
}

// Validate checks a reschedule policy's numbers.
func (p *ReschedulePolicy) Validate() error {
	if p == nil {
		return nil
	}
	var errs []error
	if p.Attempts < 0 {
		errs = append(errs, fmt.Errorf("reschedule.attempts %d is negative", p.Attempts))
	}
	if p.Interval < 0 {
		errs = append(errs, fmt.Errorf("reschedule.interval %s is negative", p.Interval))
	}
	if p.Delay < 0 {
		errs = append(errs, fmt.Errorf("reschedule.delay %s is negative", p.Delay))
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errs: errs}
}

// Validate checks the task group.
func (tg *TaskGroup) Validate() error {
	var errs []error
	if tg.Name == "" {
		errs = append(errs, errors.New("task group has no name"))
	}
	if tg.Count < 0 {
		errs = append(errs, fmt.Errorf("group %q: count %d is negative", tg.Name, tg.Count))
	}
	if tg.MaxClientDisconnect != nil && *tg.MaxClientDisconnect < 0 {
		errs = append(errs, fmt.Errorf("group %q: max_client_disconnect is negative", tg.Name))
	}
	if tg.StopAfterClientDisconnect != nil && *tg.StopAfterClientDisconnect < 0 {
		errs = append(errs, fmt.Errorf("group %q: stop_after_client_disconnect is negative", tg.Name))
	}
	if err := tg.Disconnect.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("group %q: %w", tg.Name, err))
	}
	if err := tg.ReschedulePolicy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("group %q: %w", tg.Name, err))
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errs: errs}
}

// Validate checks the job and all its groups. The error matches ErrInvalidJob.
func (j *Job) Validate() error {
	if j == nil {
		return &ValidationError{Errs: []error{errors.New("job is missing")}}
	}
	var errs []error
	if j.ID == "" {
		errs = append(errs, errors.New("job has no ID"))
	}
	switch j.Type {
	case JobTypeService, JobTypeBatch, JobTypeSystem:
	default:
		errs = append(errs, fmt.Errorf("job %q: type %q is not service, batch or system", j.ID, j.Type))
	}
	seen := make(map[string]bool, len(j.TaskGroups))
	for i, tg := range j.TaskGroups {
		if tg == nil {
			errs = append(errs, fmt.Errorf("job %q: task group %d is missing", j.ID, i))
			continue
		}
		if seen[tg.Name] {
			errs = append(errs, fmt.Errorf("job %q: task group %q appears twice", j.ID, tg.Name))
		}
		seen[tg.Name] = true
		if err := tg.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Errs: errs}
}

// Copy returns a deep copy, or nil for nil.
func (j *Job) Copy() *Job {
	if j == nil {
		return nil
	}
	c := *j
	c.Datacenters = append([]string(nil), j.Datacenters...)
	if j.TaskGroups != nil {
		c.TaskGroups = make([]*TaskGroup, len(j.TaskGroups))
		for i, tg := range j.TaskGroups {
			c.TaskGroups[i] = tg.Copy()
		}
	}
	return &c
}

// Copy returns a deep copy, or nil for nil.
func (tg *TaskGroup) Copy() *TaskGroup {
	if tg == nil {
		return nil
	}
	c := *tg
	c.Disconnect = tg.Disconnect.Copy()
	c.MaxClientDisconnect = copyDuration(tg.MaxClientDisconnect)
	c.StopAfterClientDisconnect = copyDuration(tg.StopAfterClientDisconnect)
	if tg.ReschedulePolicy != nil {
		rp := *tg.ReschedulePolicy
		c.ReschedulePolicy = &rp
	}
	return &c
}

// Copy returns a deep copy, or nil for nil.
func (d *DisconnectStrategy) Copy() *DisconnectStrategy {
	if d == nil {
		return nil
	}
	c := *d
	if d.Replace != nil {
		r := *d.Replace
		c.Replace = &r
	}
	c.StopOnClientAfter = copyDuration(d.StopOnClientAfter)
	return &c
}

func copyDuration(d *time.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	c := *d
	return &c
}

// ValidationError collects everything wrong with a job. It matches
// ErrInvalidJob.
type ValidationError struct {
	Errs []error
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	return "invalid job: " + strings.Join(msgs, "; ")
}

// Is makes the error match ErrInvalidJob.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidJob }

// Unwrap exposes the individual problems.
func (e *ValidationError) Unwrap() []error { return e.Errs }
