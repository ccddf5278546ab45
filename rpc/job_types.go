package rpc

import "github.com/rejoinhq/rejoin/structs"

// JobRegisterRequest submits a job (new, or a new version of one).
type JobRegisterRequest struct {
	Job *structs.Job
}

// JobRegisterResponse names the job-register evaluation created with it.
type JobRegisterResponse struct {
	EvalID     string
	JobVersion uint64
	Index      uint64
}

// JobDeregisterRequest stops a job (Purge deletes it instead).
type JobDeregisterRequest struct {
	Namespace string
	JobID     string
	Purge     bool
}

// JobDeregisterResponse names the job-deregister evaluation.
type JobDeregisterResponse struct {
	EvalID string
	Index  uint64
}

// JobSpecificRequest names one job; empty Namespace means default.
type JobSpecificRequest struct {
	Namespace string
	JobID     string
}

// JobGetResponse is the stored job.
type JobGetResponse struct {
	Job   *structs.Job
	Index uint64
}

// JobStatusResponse is what an operator wants to know about a job: the
// job, its live allocations per task group by client status, every
// allocation, and its evaluations.
type JobStatusResponse struct {
	Job *structs.Job
	// Summary counts the allocations the server wants running
	// (DesiredStatus run) per task group and client status.
	Summary map[string]map[string]int
	Allocs  []*AllocStub
	Evals   []*structs.Evaluation
	Index   uint64
}

// AllocStub is the short form of an allocation in lists and chains.
type AllocStub struct {
	ID                 string
	Name               string
	NodeID             string
	JobID              string
	TaskGroup          string
	JobVersion         uint64
	DesiredStatus      string
	ClientStatus       string
	PreviousAllocation string
	NextAllocation     string
	CreateIndex        uint64
	ModifyIndex        uint64
	ModifyTime         int64
}

// stubOf returns a's short form.
func stubOf(a *structs.Allocation) *AllocStub {
	return &AllocStub{
		ID: a.ID, Name: a.Name, NodeID: a.NodeID, JobID: a.JobID, TaskGroup: a.TaskGroup,
		JobVersion: a.JobVersion, DesiredStatus: a.DesiredStatus, ClientStatus: a.ClientStatus,
		PreviousAllocation: a.PreviousAllocation, NextAllocation: a.NextAllocation,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex, ModifyTime: a.ModifyTime,
	}
}
