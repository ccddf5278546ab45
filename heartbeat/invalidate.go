package heartbeat

import (
	"cmp"
	"slices"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// JobLookup returns the job, or nil when it does not exist.
type JobLookup func(namespace, jobID string) *structs.Job

// ExpiredNodeStatus decides what a node whose heartbeat expired at now
// becomes: "" when nothing changes (the node is already down, or gone),
// NodeStatusDown, or NodeStatusDisconnected iff some alloc on it that the
// server wants running (and the client has not finished) belongs to a group
// with lostAfter > 0 and is not expired. An alloc not yet unknown is not
// expired; an unknown one is expired when lastUnknown + lostAfter <= now.
// A node still initializing always goes down.
func ExpiredNodeStatus(node *structs.Node, allocs []*structs.Allocation, jobs JobLookup, now time.Time) string {
	status, _ := decideExpired(node, allocs, jobs, now)
	return status
}

// decideExpired is ExpiredNodeStatus plus, for a disconnected result, the
// earliest time an alloc that keeps the node disconnected would expire (a
// not-yet-unknown alloc counts from now): when to check the node again.
func decideExpired(node *structs.Node, allocs []*structs.Allocation, jobs JobLookup, now time.Time) (string, time.Time) {
	switch {
	case node == nil || node.Status == structs.NodeStatusDown:
		return "", time.Time{}
	case node.Status == structs.NodeStatusInit:
		return structs.NodeStatusDown, time.Time{}
	}
	var recheck time.Time
	for _, a := range allocs {
		if a == nil || a.DesiredStatus != structs.AllocDesiredStatusRun || a.ClientTerminalStatus() {
			continue
		}
		var tg *structs.TaskGroup
		if jobs != nil {
			tg = jobs(nsOrDefault(a.Namespace), a.JobID).LookupTaskGroup(a.TaskGroup)
		}
		lostAfter := tg.LostAfter()
		if lostAfter <= 0 {
			continue
		}
		until := now.Add(lostAfter)
		if a.ClientStatus == structs.AllocClientStatusUnknown {
			if a.Expired(now, lostAfter) {
				continue
			}
			until = a.LastUnknown().Add(lostAfter)
		}
		if recheck.IsZero() || until.Before(recheck) {
			recheck = until
		}
	}
	if recheck.IsZero() {
		return structs.NodeStatusDown, time.Time{}
	}
	return structs.NodeStatusDisconnected, recheck
}

func nsOrDefault(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}

// nodeEvals returns one node-update evaluation per job with an alloc on the
// node that its client has not finished (a server-stopped alloc that may
// still run needs its job reconciled too), sorted by namespace and job ID.
func nodeEvals(nodeID string, allocs []*structs.Allocation, jobs JobLookup, now time.Time, newID func() string) []*structs.Evaluation {
	seen := map[structs.NamespacedID]bool{}
	var keys []structs.NamespacedID
	for _, a := range allocs {
		if a == nil || a.ClientTerminalStatus() {
			continue
		}
		k := structs.NamespacedID{Namespace: nsOrDefault(a.Namespace), ID: a.JobID}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b structs.NamespacedID) int {
		if c := cmp.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	evals := make([]*structs.Evaluation, 0, len(keys))
	for _, k := range keys {
		priority, typ := 50, structs.JobTypeService
		if jobs != nil {
			if j := jobs(k.Namespace, k.ID); j != nil {
				priority, typ = j.Priority, j.Type
			}
		}
		evals = append(evals, &structs.Evaluation{
			ID:          newID(),
			Namespace:   k.Namespace,
			Priority:    priority,
			Type:        typ,
			TriggeredBy: structs.EvalTriggerNodeUpdate,
			JobID:       k.ID,
			NodeID:      nodeID,
			Status:      structs.EvalStatusPending,
			CreateTime:  now.UnixNano(),
			ModifyTime:  now.UnixNano(),
		})
	}
	return evals
}
