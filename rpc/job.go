package rpc

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// JobAPI is the job surface: the writes an operator or a scheduler's own
// API makes, and the reads that go with them. *Jobs serves it in process,
// *Client over TCP (service "Job").
type JobAPI interface {
	Register(args *JobRegisterRequest, reply *JobRegisterResponse) error
	Deregister(args *JobDeregisterRequest, reply *JobDeregisterResponse) error
	Get(args *JobSpecificRequest, reply *JobGetResponse) error
	Status(args *JobSpecificRequest, reply *JobStatusResponse) error
}

// JobStore is what the job endpoints need; *state.Store satisfies it.
type JobStore interface {
	Snapshot() *state.Snapshot
	ApplyCommand(t structs.MessageType, req any) (uint64, any, error)
}

// JobsConfig configures the job endpoints. Store is required.
type JobsConfig struct {
	Store  JobStore
	Clock  clock.Clock   // default clock.System
	Logger hclog.Logger  // default: discard
	NewID  func() string // evaluation IDs; default NewUUID
}

// Jobs serves JobAPI. Its methods are safe for concurrent use; each write
// is one command (the job and its evaluation together).
type Jobs struct {
	store  JobStore
	clock  clock.Clock
	logger hclog.Logger
	newID  func() string
}

var _ JobAPI = (*Jobs)(nil)

// NewJobs returns the job endpoints for cfg.
func NewJobs(cfg JobsConfig) (*Jobs, error) {
	if cfg.Store == nil {
		return nil, errors.New("rpc: JobsConfig.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.NewID == nil {
		cfg.NewID = NewUUID
	}
	return &Jobs{store: cfg.Store, clock: cfg.Clock, logger: cfg.Logger.Named("job"), newID: cfg.NewID}, nil
}

// Register validates the job (its groups and their disconnect blocks) and
// writes it with a pending job-register evaluation in one command. An
// invalid job is refused with an error matching structs.ErrInvalidJob and
// changes nothing. The caller's job is not retained (the command is
// encoded).
func (j *Jobs) Register(args *JobRegisterRequest, reply *JobRegisterResponse) error {
	if args == nil || args.Job == nil {
		return rejectf(structs.ErrInvalidJob, "missing job")
	}
	job := args.Job.Copy()
	if job.Namespace == "" {
		job.Namespace = structs.DefaultNamespace
	}
	if err := job.Validate(); err != nil {
		j.logger.Info("job refused", "job_id", job.ID, "reason", err.Error())
		return err
	}
	// Server-owned fields.
	job.CreateIndex, job.ModifyIndex, job.JobModifyIndex = 0, 0, 0
	now := j.clock.Now()
	ev := j.eval(job, structs.EvalTriggerJobRegister, now.UnixNano())
	index, _, err := j.store.ApplyCommand(structs.JobRegisterRequestType,
		&structs.JobRegisterRequest{Job: job, Eval: ev, UpdatedAt: now.UnixNano()})
	if err != nil {
		return fmt.Errorf("register job %q: %w", job.ID, err)
	}
	stored, err := j.store.Snapshot().JobByID(nil, job.Namespace, job.ID)
	if err != nil || stored == nil {
		return fmt.Errorf("%w: reading job %q back: %v", ErrInternal, job.ID, err)
	}
	*reply = JobRegisterResponse{EvalID: ev.ID, JobVersion: stored.Version, Index: index}
	j.logger.Info("job registered", "job_id", job.ID, "version", stored.Version, "eval_id", ev.ID, "index", index)
	return nil
}

// Deregister stops the job (Purge: deletes it) and writes a pending
// job-deregister evaluation with it, so its allocations are stopped. An
// unknown job matches structs.ErrUnknownJob and changes nothing.
func (j *Jobs) Deregister(args *JobDeregisterRequest, reply *JobDeregisterResponse) error {
	if args == nil || args.JobID == "" {
		return rejectf(structs.ErrInvalidRequest, "missing job ID")
	}
	ns := nsOrDefault(args.Namespace)
	job, err := j.store.Snapshot().JobByID(nil, ns, args.JobID)
	if err != nil {
		return fmt.Errorf("%w: reading job %q: %w", ErrInternal, args.JobID, err)
	}
	if job == nil {
		return unknownJob(ns, args.JobID)
	}
	now := j.clock.Now()
	ev := j.eval(job, structs.EvalTriggerJobDeregister, now.UnixNano())
	index, _, err := j.store.ApplyCommand(structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
		Namespace: ns, JobID: args.JobID, Purge: args.Purge, Eval: ev, UpdatedAt: now.UnixNano(),
	})
	if err != nil {
		return fmt.Errorf("deregister job %q: %w", args.JobID, err)
	}
	*reply = JobDeregisterResponse{EvalID: ev.ID, Index: index}
	j.logger.Info("job deregistered", "job_id", args.JobID, "purge", args.Purge, "eval_id", ev.ID, "index", index)
	return nil
}

// Get returns a copy of the stored job.
func (j *Jobs) Get(args *JobSpecificRequest, reply *JobGetResponse) error {
	snap := j.store.Snapshot()
	job, err := lookupJob(snap, args)
	if err != nil {
		return err
	}
	*reply = JobGetResponse{Job: job.Copy(), Index: snap.Index(state.TableJobs)}
	return nil
}

// Status returns the job with its allocations and evaluations, read from
// one snapshot.
func (j *Jobs) Status(args *JobSpecificRequest, reply *JobStatusResponse) error {
	snap := j.store.Snapshot()
	job, err := lookupJob(snap, args)
	if err != nil {
		return err
	}
	ns := job.NamespacedID().Namespace
	allocs, err := snap.AllocsByJob(nil, ns, job.ID)
	if err != nil {
		return fmt.Errorf("%w: allocs of job %q: %w", ErrInternal, job.ID, err)
	}
	evals, err := snap.EvalsByJob(nil, ns, job.ID)
	if err != nil {
		return fmt.Errorf("%w: evals of job %q: %w", ErrInternal, job.ID, err)
	}
	out := JobStatusResponse{Job: job.Copy(), Summary: map[string]map[string]int{}, Index: snap.LatestIndex()}
	for _, tg := range job.TaskGroups {
		out.Summary[tg.Name] = map[string]int{}
	}
	for _, a := range allocs {
		out.Allocs = append(out.Allocs, stubOf(a))
		if a.DesiredStatus != structs.AllocDesiredStatusRun {
			continue
		}
		if out.Summary[a.TaskGroup] == nil {
			out.Summary[a.TaskGroup] = map[string]int{}
		}
		out.Summary[a.TaskGroup][a.ClientStatus]++
	}
	for _, e := range evals {
		out.Evals = append(out.Evals, e.Copy())
	}
	*reply = out
	return nil
}

// eval is a pending evaluation of job for trigger.
func (j *Jobs) eval(job *structs.Job, trigger string, now int64) *structs.Evaluation {
	prio := job.Priority
	if prio <= 0 {
		prio = defaultEvalPriority
	}
	return &structs.Evaluation{
		ID: j.newID(), Namespace: job.NamespacedID().Namespace, Priority: prio, Type: job.Type,
		TriggeredBy: trigger, JobID: job.ID, Status: structs.EvalStatusPending,
		CreateTime: now, ModifyTime: now,
	}
}

func lookupJob(snap *state.Snapshot, args *JobSpecificRequest) (*structs.Job, error) {
	if args == nil || args.JobID == "" {
		return nil, rejectf(structs.ErrInvalidRequest, "missing job ID")
	}
	ns := nsOrDefault(args.Namespace)
	job, err := snap.JobByID(nil, ns, args.JobID)
	if err != nil {
		return nil, fmt.Errorf("%w: reading job %q: %w", ErrInternal, args.JobID, err)
	}
	if job == nil {
		return nil, unknownJob(ns, args.JobID)
	}
	return job, nil
}

func unknownJob(ns, id string) error {
	if ns == structs.DefaultNamespace {
		return fmt.Errorf("%w %q", structs.ErrUnknownJob, id)
	}
	return fmt.Errorf("%w %q in namespace %q", structs.ErrUnknownJob, id, ns)
}

func nsOrDefault(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}
