package testutil

import (
	"encoding/json"
	"time"

	"github.com/rejoinhq/rejoin/reconcile"
)

// ExportScenario writes a reconciler input as a scenario file (the format
// of SCENARIOS.md, which `rejoin replay --scenario` reads), so a decision
// the simulation found wrong can be replayed and turned into a test.
func ExportScenario(name, description string, in reconcile.Input) ([]byte, error) {
	type obj = map[string]any
	dur := func(d *time.Duration) any {
		if d == nil {
			return nil
		}
		return d.String()
	}
	ts := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	job := in.Job
	var groups []obj
	for _, tg := range job.TaskGroups {
		g := obj{"Name": tg.Name, "Count": tg.Count}
		if d := tg.Disconnect; d != nil {
			g["Disconnect"] = obj{"LostAfter": d.LostAfter.String(), "Replace": d.Replace,
				"Reconcile": d.Reconcile, "StopOnClientAfter": dur(d.StopOnClientAfter)}
		}
		if tg.MaxClientDisconnect != nil {
			g["MaxClientDisconnect"] = dur(tg.MaxClientDisconnect)
		}
		if p := tg.ReschedulePolicy; p != nil {
			g["ReschedulePolicy"] = obj{"Attempts": p.Attempts, "Interval": p.Interval.String(),
				"Delay": p.Delay.String(), "Unlimited": p.Unlimited}
		}
		groups = append(groups, g)
	}
	var nodes []obj
	for _, id := range sortedKeys(in.Nodes) {
		n := in.Nodes[id]
		nodes = append(nodes, obj{"ID": n.ID, "Status": n.Status, "Drain": n.Drain,
			"SchedulingEligibility": n.SchedulingEligibility})
	}
	var allocs []obj
	for _, a := range in.Allocs {
		var states []obj
		for _, s := range a.AllocStates {
			states = append(states, obj{"Field": "ClientStatus", "Value": s.Value, "Time": ts(s.Time)})
		}
		o := obj{"ID": a.ID, "Name": a.Name, "NodeID": a.NodeID, "TaskGroup": a.TaskGroup,
			"JobVersion": a.JobVersion, "DesiredStatus": a.DesiredStatus, "ClientStatus": a.ClientStatus,
			"AllocStates": states, "PreviousAllocation": a.PreviousAllocation,
			"NextAllocation": a.NextAllocation, "FollowupEvalID": a.FollowupEvalID}
		if score, ok := a.Metrics.MaxNormScore(); ok {
			o["Metrics"] = obj{"ScoreMetaData": []obj{{"NodeID": a.NodeID, "NormScore": score}}}
		}
		if len(a.TaskStates) > 0 {
			tasks := obj{}
			for _, name := range sortedKeys(a.TaskStates) {
				t := a.TaskStates[name]
				tasks[name] = obj{"StartedAt": ts(t.StartedAt), "Restarts": t.Restarts,
					"LastRestart": ts(t.LastRestart), "FinishedAt": ts(t.FinishedAt)}
			}
			o["TaskStates"] = tasks
		}
		if rt := a.RescheduleTracker; rt != nil && len(rt.Events) > 0 {
			var evs []obj
			for _, e := range rt.Events {
				evs = append(evs, obj{"RescheduleTime": ts(time.Unix(0, e.RescheduleTime))})
			}
			o["RescheduleTracker"] = obj{"Events": evs}
		}
		allocs = append(allocs, o)
	}
	return json.MarshalIndent(obj{
		"Name": name, "Description": description, "Now": ts(in.Now), "EvalID": in.EvalID,
		"Job": obj{"ID": job.ID, "Namespace": job.Namespace, "Type": job.Type, "Version": job.Version,
			"CreateIndex": job.CreateIndex, "Stop": job.Stop, "UpdateInPlace": job.UpdateInPlace,
			"TaskGroups": groups},
		"Nodes": nodes, "Allocs": allocs,
	}, "", "  ")
}
