package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/rejoinhq/rejoin/reconcile"
	"github.com/rejoinhq/rejoin/structs"
)

func runSnapshotExport(args []string, stdout, stderr io.Writer) int {
	a, code, ok := parseSnapshotArgs("export-scenario", args, true, stderr)
	if !ok {
		return code
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "rejoin snapshot export-scenario: %v\n", oneLine(err))
		return exitBadInput
	}
	v, now, err := a.load(stderr)
	if err != nil {
		return fail(err)
	}
	jobs, err := v.selectJobs(a.job)
	if err != nil {
		return fail(err)
	}
	b, err := exportScenario(v, jobs[0], now, a.file)
	if err != nil {
		return fail(err)
	}
	_, _ = stdout.Write(b)
	return exitOK
}

// exportScenario writes one job's slice of v as a SCENARIOS.md scenario at
// now: the job, its allocations, and the nodes they are on (every node for
// a system job). Node secrets are left out. The result is checked by
// decoding it back, so what is printed is always a valid scenario.
func exportScenario(v *stateView, job *structs.Job, now time.Time, file string) ([]byte, error) {
	allocs := v.allocsByJob()[job.NamespacedID()]
	used := map[string]bool{}
	for _, a := range allocs {
		used[a.NodeID] = true
	}
	sc := scenarioFile{
		Name:        fmt.Sprintf("export-%s", job.ID),
		Description: fmt.Sprintf("job %s exported from %s snapshot %s (index %d)", jobKey(job.NamespacedID()), v.Source, file, v.Index),
		Now:         now.UTC(),
		Job:         exportJob(job),
		Nodes:       []*structs.Node{},
		Allocs:      make([]scenarioAlloc, 0, len(allocs)),
	}
	for _, n := range v.Nodes {
		if job.Type == structs.JobTypeSystem || used[n.ID] {
			c := n.Copy()
			c.SecretID = ""
			sc.Nodes = append(sc.Nodes, c)
		}
	}
	sort.Slice(sc.Nodes, func(i, j int) bool { return sc.Nodes[i].ID < sc.Nodes[j].ID })
	for _, a := range allocs {
		sc.Allocs = append(sc.Allocs, exportAlloc(a))
	}
	sort.Slice(sc.Allocs, func(i, j int) bool { return sc.Allocs[i].ID < sc.Allocs[j].ID })
	b, err := json.MarshalIndent(sc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode scenario: %w", err)
	}
	b = append(b, '\n')
	if _, err := reconcile.DecodeScenario(bytes.NewReader(b)); err != nil {
		return nil, fmt.Errorf("job %s cannot be written as a scenario: %w", jobKey(job.NamespacedID()), err)
	}
	return b, nil
}

// The scenario file's shapes (SCENARIOS.md "Input"): durations as Go
// duration strings, times as RFC 3339, absent values left out.
type scenarioFile struct {
	Name, Description string
	Now               time.Time
	Job               scenarioJob
	Nodes             []*structs.Node
	Allocs            []scenarioAlloc
}

type scenarioJob struct {
	ID, Namespace, Name, Type string
	Priority                  int
	Version                   uint64
	CreateIndex, ModifyIndex  uint64
	Stop, UpdateInPlace       bool
	TaskGroups                []scenarioGroup
}

type scenarioGroup struct {
	Name                      string
	Count                     int
	Disconnect                *scenarioDisconnect `json:",omitempty"`
	MaxClientDisconnect       *string             `json:",omitempty"`
	StopAfterClientDisconnect *string             `json:",omitempty"`
	PreventRescheduleOnLost   bool                `json:",omitempty"`
	ReschedulePolicy          *scenarioPolicy     `json:",omitempty"`
}

type scenarioDisconnect struct {
	LostAfter         string
	Replace           *bool
	Reconcile         string  `json:",omitempty"`
	StopOnClientAfter *string `json:",omitempty"`
}

type scenarioPolicy struct {
	Attempts        int
	Interval, Delay string
	DelayFunction   string `json:",omitempty"`
	MaxDelay        string `json:",omitempty"`
	Unlimited       bool
}

type scenarioAlloc struct {
	ID, Namespace, EvalID, Name, NodeID, JobID, TaskGroup string
	JobVersion                                            uint64
	DesiredStatus                                         string
	DesiredDescription                                    string `json:",omitempty"`
	ClientStatus                                          string
	ClientDescription                                     string                  `json:",omitempty"`
	AllocStates                                           []scenarioState         `json:",omitempty"`
	PreviousAllocation                                    string                  `json:",omitempty"`
	NextAllocation                                        string                  `json:",omitempty"`
	FollowupEvalID                                        string                  `json:",omitempty"`
	Metrics                                               *scenarioMetrics        `json:",omitempty"`
	TaskStates                                            map[string]scenarioTask `json:",omitempty"`
	RescheduleTracker                                     *scenarioTracker        `json:",omitempty"`
	CreateIndex, ModifyIndex, AllocModifyIndex            uint64
	CreateTime, ModifyTime                                int64
}

type scenarioState struct {
	Field any // "ClientStatus", or the raw number of a field rejoin does not know
	Value string
	Time  *time.Time `json:",omitempty"`
}

type scenarioMetrics struct {
	ScoreMetaData []scenarioScore
}

type scenarioScore struct {
	NodeID    string
	NormScore float64
}

type scenarioTask struct {
	State                              string `json:",omitempty"`
	Failed                             bool   `json:",omitempty"`
	Restarts                           uint64
	LastRestart, StartedAt, FinishedAt *time.Time `json:",omitempty"`
}

type scenarioTracker struct {
	Events []scenarioEvent
}

type scenarioEvent struct {
	RescheduleTime          time.Time
	PrevAllocID, PrevNodeID string `json:",omitempty"`
	Delay                   string
}

func durStr(d time.Duration) string { return d.String() }

func durPtr(d *time.Duration) *string {
	if d == nil {
		return nil
	}
	s := d.String()
	return &s
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func exportJob(j *structs.Job) scenarioJob {
	out := scenarioJob{
		ID: j.ID, Namespace: j.NamespacedID().Namespace, Name: j.Name, Type: j.Type, Priority: j.Priority,
		Version: j.Version, CreateIndex: j.CreateIndex, ModifyIndex: j.ModifyIndex,
		Stop: j.Stop, UpdateInPlace: j.UpdateInPlace, TaskGroups: []scenarioGroup{},
	}
	for _, tg := range j.TaskGroups {
		if tg == nil {
			continue
		}
		g := scenarioGroup{
			Name: tg.Name, Count: tg.Count, PreventRescheduleOnLost: tg.PreventRescheduleOnLost,
			MaxClientDisconnect:       durPtr(tg.MaxClientDisconnect),
			StopAfterClientDisconnect: durPtr(tg.StopAfterClientDisconnect),
		}
		if d := tg.Disconnect; d != nil {
			g.Disconnect = &scenarioDisconnect{LostAfter: durStr(d.LostAfter), Replace: d.Replace,
				Reconcile: d.Reconcile, StopOnClientAfter: durPtr(d.StopOnClientAfter)}
		}
		if p := tg.ReschedulePolicy; p != nil {
			g.ReschedulePolicy = &scenarioPolicy{Attempts: p.Attempts, Interval: durStr(p.Interval), Delay: durStr(p.Delay),
				DelayFunction: p.DelayFunction, MaxDelay: durStr(p.MaxDelay), Unlimited: p.Unlimited}
		}
		out.TaskGroups = append(out.TaskGroups, g)
	}
	return out
}

func exportAlloc(a *structs.Allocation) scenarioAlloc {
	out := scenarioAlloc{
		ID: a.ID, Namespace: a.Namespace, EvalID: a.EvalID, Name: a.Name, NodeID: a.NodeID, JobID: a.JobID,
		TaskGroup: a.TaskGroup, JobVersion: a.JobVersion,
		DesiredStatus: a.DesiredStatus, DesiredDescription: a.DesiredDescription,
		ClientStatus: a.ClientStatus, ClientDescription: a.ClientDescription,
		PreviousAllocation: a.PreviousAllocation, NextAllocation: a.NextAllocation, FollowupEvalID: a.FollowupEvalID,
		CreateIndex: a.CreateIndex, ModifyIndex: a.ModifyIndex, AllocModifyIndex: a.AllocModifyIndex,
		CreateTime: a.CreateTime, ModifyTime: a.ModifyTime,
	}
	for _, s := range a.AllocStates {
		if s == nil {
			continue
		}
		var field any = uint8(s.Field)
		if s.Field == structs.AllocStateFieldClientStatus {
			field = s.Field.String()
		}
		out.AllocStates = append(out.AllocStates, scenarioState{Field: field, Value: s.Value, Time: timePtr(s.Time)})
	}
	if a.Metrics != nil {
		m := &scenarioMetrics{ScoreMetaData: []scenarioScore{}}
		for _, s := range a.Metrics.ScoreMetaData {
			if s != nil {
				m.ScoreMetaData = append(m.ScoreMetaData, scenarioScore{NodeID: s.NodeID, NormScore: s.NormScore})
			}
		}
		out.Metrics = m
	}
	if len(a.TaskStates) > 0 {
		out.TaskStates = make(map[string]scenarioTask, len(a.TaskStates))
		for name, ts := range a.TaskStates {
			if ts == nil {
				continue
			}
			out.TaskStates[name] = scenarioTask{State: ts.State, Failed: ts.Failed, Restarts: ts.Restarts,
				LastRestart: timePtr(ts.LastRestart), StartedAt: timePtr(ts.StartedAt), FinishedAt: timePtr(ts.FinishedAt)}
		}
	}
	if a.RescheduleTracker != nil {
		tr := &scenarioTracker{Events: []scenarioEvent{}}
		for _, e := range a.RescheduleTracker.Events {
			if e != nil {
				tr.Events = append(tr.Events, scenarioEvent{RescheduleTime: time.Unix(0, e.RescheduleTime).UTC(),
					PrevAllocID: e.PrevAllocID, PrevNodeID: e.PrevNodeID, Delay: durStr(e.Delay)})
			}
		}
		out.RescheduleTracker = tr
	}
	return out
}
