package testutil

import (
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/structs"
)

// The invariants of issue 7. Every simulated step is checked against them;
// I1, I8 and the second half of I2 need quiescence.
const (
	I1CountExact        = "I1" // after quiescence each task group has exactly Count live allocs
	I2UnknownCleared    = "I2" // no alloc stays unknown on a ready node once its client synced
	I3ReconnectOnce     = "I3" // an alloc that reconnected is never treated as reconnecting again
	I4ReadyOnlyUpdates  = "I4" // alloc updates from non-ready nodes never change the store
	I5StopWins          = "I5" // an alloc with DesiredStatus stop is never reconnected or restarted
	I6StatesAppendOnly  = "I6" // AllocStates are append-only with non-decreasing times
	I7NodeTransitions   = "I7" // node statuses only move along valid transitions
	I8NoDuplicateByName = "I8" // no two live allocs of a service group share a name on ready nodes
)

// Violation is one broken invariant.
type Violation struct {
	Invariant string
	Step      int
	Time      time.Time
	Index     uint64 // store index of the command that broke it, 0 if none
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("%s violated at step %d (%s, index %d): %s",
		v.Invariant, v.Step, v.Time.UTC().Format("15:04:05.000"), v.Index, v.Detail)
}

// StateReader is what the checker reads; *state.Store and *state.Snapshot
// satisfy it.
type StateReader interface {
	AllocByID(ws memdb.WatchSet, id string) (*structs.Allocation, error)
	NodeByID(ws memdb.WatchSet, id string) (*structs.Node, error)
	Nodes(ws memdb.WatchSet) ([]*structs.Node, error)
	Jobs(ws memdb.WatchSet) ([]*structs.Job, error)
	AllocsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Allocation, error)
}

// allocRec is the checker's memory of an alloc as of the last command.
type allocRec struct {
	desired, client string
	nodeID          string
	nStates         int
	last            structs.AllocState // last entry (zero when none)
	needsReconnect  bool
	modifyIndex     uint64
}

func recOf(a *structs.Allocation) *allocRec {
	r := &allocRec{desired: a.DesiredStatus, client: a.ClientStatus, nodeID: a.NodeID,
		nStates: len(a.AllocStates), needsReconnect: a.NeedsToReconnect(), modifyIndex: a.ModifyIndex}
	if n := len(a.AllocStates); n > 0 && a.AllocStates[n-1] != nil {
		r.last = *a.AllocStates[n-1]
	}
	return r
}

// Checker checks the invariants incrementally: ObserveCommand sees every
// command the store applied (wire it to Store.SetCommandSink) and compares
// what it touched before and after; CheckStep and CheckQuiescent look at the
// whole picture. Not safe for concurrent use.
type Checker struct {
	allocs map[string]*allocRec
	nodes  map[string]string // node ID -> status
	// unknownSet holds allocs the server wants running whose last
	// ClientStatus AllocState is unknown: the candidates of I2.
	unknownSet map[string]bool
	// unknownByNode indexes unknownSet by node, and recheck holds the
	// candidates CheckStep has to look at: allocs changed, and allocs on
	// nodes that changed, since the last check.
	unknownByNode map[string]map[string]bool
	recheck       map[string]bool

	// Step and Now label violations; the harness sets them.
	Step int
	Now  func() time.Time
	// Checks counts the individual invariant checks that passed.
	Checks     int
	violations []Violation
}

// NewChecker returns a checker that has seen nothing.
func NewChecker() *Checker {
	return &Checker{allocs: map[string]*allocRec{}, nodes: map[string]string{},
		unknownSet: map[string]bool{}, unknownByNode: map[string]map[string]bool{},
		recheck: map[string]bool{}, Now: time.Time{}.UTC}
}

// Violations returns what was found so far, in order.
func (c *Checker) Violations() []Violation { return c.violations }

func (c *Checker) fail(inv string, index uint64, format string, args ...any) {
	c.violations = append(c.violations, Violation{Invariant: inv, Step: c.Step, Time: c.Now(),
		Index: index, Detail: fmt.Sprintf(format, args...)})
}

func (c *Checker) ok() { c.Checks++ }

// ModifyIndex returns the alloc's ModifyIndex as last seen (0: unseen).
func (c *Checker) ModifyIndex(id string) uint64 {
	if r := c.allocs[id]; r != nil {
		return r.modifyIndex
	}
	return 0
}

// NodeStatus returns the node's status as last seen ("" unseen).
func (c *Checker) NodeStatus(id string) string { return c.nodes[id] }

// ObserveCommand checks one applied command against the state after it.
func (c *Checker) ObserveCommand(index uint64, t structs.MessageType, payload []byte, r StateReader) {
	req, err := structs.DecodeCommand(t, payload)
	if err != nil {
		return // an unknown, skipped command changed nothing
	}
	c.ObserveRequest(index, req, r)
}

// ObserveRequest is ObserveCommand for an already decoded command.
func (c *Checker) ObserveRequest(index uint64, req any, r StateReader) {
	switch cmd := req.(type) {
	case *structs.NodeRegisterRequest:
		if cmd.Node != nil {
			c.observeNode(index, cmd.Node.ID, true, r)
		}
	case *structs.NodeUpdateStatusRequest:
		c.observeNode(index, cmd.NodeID, false, r)
	case *structs.NodeDeregisterRequest:
		for _, id := range cmd.NodeIDs {
			delete(c.nodes, id)
		}
	case *structs.AllocUpdateRequest:
		for _, a := range cmd.Alloc {
			if a != nil {
				c.observeAlloc(index, a.ID, false, r)
			}
		}
	case *structs.ApplyPlanResultsRequest:
		reconnected := map[string]bool{}
		for _, id := range cmd.AllocsReconnected {
			reconnected[id] = true
		}
		var ids []string
		for _, a := range cmd.AllocsPlaced {
			ids = append(ids, a.ID)
		}
		for _, s := range cmd.AllocsStopped {
			ids = append(ids, s.AllocID)
		}
		for _, s := range cmd.AllocsDisconnected {
			ids = append(ids, s.AllocID)
		}
		ids = append(ids, cmd.AllocsReconnected...)
		for _, s := range cmd.AllocsUpdated {
			ids = append(ids, s.AllocID)
		}
		for _, s := range cmd.AllocFollowups {
			ids = append(ids, s.AllocID)
		}
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			c.observeAlloc(index, id, reconnected[id], r)
		}
	}
}

func (c *Checker) observeNode(index uint64, id string, register bool, r StateReader) {
	n, err := r.NodeByID(nil, id)
	if err != nil || n == nil {
		return
	}
	pre, seen := c.nodes[id]
	c.nodes[id] = n.Status
	for a := range c.unknownByNode[id] {
		c.recheck[a] = true
	}
	if !seen {
		c.ok()
		return
	}
	if register && n.Status != pre {
		c.fail(I7NodeTransitions, index, "node %s: re-register changed its status %s -> %s", id, pre, n.Status)
		return
	}
	if err := structs.ValidateNodeTransition(pre, n.Status); err != nil {
		c.fail(I7NodeTransitions, index, "node %s: %s -> %s is not a valid transition", id, pre, n.Status)
		return
	}
	c.ok()
}

func (c *Checker) observeAlloc(index uint64, id string, reconnected bool, r StateReader) {
	post, err := r.AllocByID(nil, id)
	if err != nil || post == nil {
		return
	}
	pre := c.allocs[id]
	c.CheckAllocChange(index, pre, post, reconnected)
	rec := recOf(post)
	c.allocs[id] = rec
	if rec.needsReconnect && rec.desired == structs.AllocDesiredStatusRun {
		c.unknownSet[id] = true
		if c.unknownByNode[rec.nodeID] == nil {
			c.unknownByNode[rec.nodeID] = map[string]bool{}
		}
		c.unknownByNode[rec.nodeID][id] = true
		c.recheck[id] = true
	} else {
		c.forgetUnknown(id, rec.nodeID)
	}
}

// CheckAllocChange checks I3, I5 and I6 for one alloc: pre is what the
// checker knew before the command (nil: a new alloc), post the alloc after
// it, reconnected whether the command reconnected it.
func (c *Checker) CheckAllocChange(index uint64, pre *allocRec, post *structs.Allocation, reconnected bool) {
	// I6: the old entries are still there, and times never go backwards.
	from := 0
	if pre != nil {
		if len(post.AllocStates) < pre.nStates {
			c.fail(I6StatesAppendOnly, index, "alloc %s: AllocStates shrank from %d to %d entries",
				post.ID, pre.nStates, len(post.AllocStates))
			return
		}
		if pre.nStates > 0 {
			s := post.AllocStates[pre.nStates-1]
			if s == nil || s.Value != pre.last.Value || !s.Time.Equal(pre.last.Time) || s.Field != pre.last.Field {
				c.fail(I6StatesAppendOnly, index, "alloc %s: AllocState %d was rewritten", post.ID, pre.nStates-1)
				return
			}
			from = pre.nStates - 1
		}
	}
	for i := from + 1; i < len(post.AllocStates); i++ {
		prev, cur := post.AllocStates[i-1], post.AllocStates[i]
		if prev != nil && cur != nil && cur.Time.Before(prev.Time) {
			c.fail(I6StatesAppendOnly, index, "alloc %s: AllocState %d at %s is before entry %d at %s",
				post.ID, i, cur.Time.UTC().Format(time.RFC3339Nano), i-1, prev.Time.UTC().Format(time.RFC3339Nano))
			return
		}
	}
	c.ok()
	if pre == nil {
		return
	}
	// I3: a reconnect is only for an alloc the server last saw unknown.
	if reconnected {
		if !pre.needsReconnect {
			c.fail(I3ReconnectOnce, index, "alloc %s reconnected again: its last ClientStatus state was %q, not unknown",
				post.ID, pre.last.Value)
		} else {
			c.ok()
		}
	}
	// I5: desired stop wins: never reconnected, never back to run, and a
	// stopped alloc the client had finished never runs again.
	if structs.ServerTerminalStatus(pre.desired) {
		switch {
		case reconnected:
			c.fail(I5StopWins, index, "alloc %s has DesiredStatus %s and was reconnected", post.ID, pre.desired)
		case !structs.ServerTerminalStatus(post.DesiredStatus):
			c.fail(I5StopWins, index, "alloc %s: DesiredStatus went %s -> %s", post.ID, pre.desired, post.DesiredStatus)
		case structs.ClientTerminalStatus(pre.client) && !structs.ClientTerminalStatus(post.ClientStatus):
			c.fail(I5StopWins, index, "stopped alloc %s restarted: ClientStatus %s -> %s", post.ID, pre.client, post.ClientStatus)
		default:
			c.ok()
		}
	}
}

// CheckClientUpdate checks I4 for one UpdateAlloc call: statusAtCall is the
// node's status when the call reached the server, before the ModifyIndex of
// each alloc it named. Call it after the call returned.
func (c *Checker) CheckClientUpdate(nodeID, statusAtCall string, before map[string]uint64) {
	if statusAtCall == structs.NodeStatusReady {
		return
	}
	ids := make([]string, 0, len(before))
	for id := range before {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if c.ModifyIndex(id) != before[id] {
			c.fail(I4ReadyOnlyUpdates, c.allocs[id].modifyIndex,
				"alloc %s changed by an update from node %s while the node was %s", id, nodeID, statusAtCall)
			return
		}
	}
	c.ok()
}

// CheckStep runs the per-step part of I2; call it when the eval worker has
// nothing ready: an alloc its client already reported (ClientStatus no longer
// unknown) on a ready node must not still carry the reconnect marker.
func (c *Checker) CheckStep() {
	if len(c.recheck) == 0 {
		return
	}
	var bad []string
	for id := range c.recheck {
		r := c.allocs[id]
		if c.unknownSet[id] && r.client != structs.AllocClientStatusUnknown && c.nodes[r.nodeID] == structs.NodeStatusReady {
			bad = append(bad, id)
		}
	}
	clear(c.recheck)
	slices.Sort(bad)
	for _, id := range bad {
		r := c.allocs[id]
		c.fail(I2UnknownCleared, 0, "alloc %s on ready node %s: client reported %s but the reconnect was never handled",
			id, r.nodeID, r.client)
		c.forgetUnknown(id, r.nodeID) // report it once
	}
	c.ok()
}

func (c *Checker) forgetUnknown(id, nodeID string) {
	delete(c.unknownSet, id)
	if m := c.unknownByNode[nodeID]; m != nil {
		delete(m, id)
		if len(m) == 0 {
			delete(c.unknownByNode, nodeID)
		}
	}
}

// CheckQuiescent checks I1, I8 and the quiescent half of I2 on the whole
// store: every client is connected and synced and the worker is idle.
func (c *Checker) CheckQuiescent(r StateReader) error {
	nodes, err := r.Nodes(nil)
	if err != nil {
		return err
	}
	status := make(map[string]string, len(nodes))
	for _, n := range nodes {
		status[n.ID] = n.Status
	}
	jobs, err := r.Jobs(nil)
	if err != nil {
		return err
	}
	for _, job := range jobs {
		allocs, err := r.AllocsByJob(nil, job.Namespace, job.ID)
		if err != nil {
			return err
		}
		c.checkJobQuiescent(job, allocs, status)
	}
	return nil
}

func (c *Checker) checkJobQuiescent(job *structs.Job, allocs []*structs.Allocation, status map[string]string) {
	for _, a := range allocs {
		if a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusUnknown &&
			status[a.NodeID] == structs.NodeStatusReady {
			c.fail(I2UnknownCleared, 0, "alloc %s is still unknown on ready node %s at quiescence", a.ID, a.NodeID)
			return
		}
	}
	c.ok()
	if job.Type == structs.JobTypeSystem {
		return
	}
	for _, tg := range job.TaskGroups {
		want := tg.Count
		if job.Stop {
			want = 0
		}
		names := map[string][]string{} // name -> live alloc IDs with DesiredStatus run
		liveByName := map[string][]string{}
		total := 0
		for _, a := range allocs {
			if a.TaskGroup != tg.Name || a.DesiredStatus != structs.AllocDesiredStatusRun {
				continue
			}
			total++
			names[a.Name] = append(names[a.Name], a.ID)
			if (a.ClientStatus == structs.AllocClientStatusRunning || a.ClientStatus == structs.AllocClientStatusPending) &&
				status[a.NodeID] == structs.NodeStatusReady {
				liveByName[a.Name] = append(liveByName[a.Name], a.ID)
			}
		}
		// I8 first: a duplicate is the sharper diagnosis.
		if job.Type == structs.JobTypeService {
			dup := ""
			for _, name := range sortedKeys(liveByName) {
				if len(liveByName[name]) > 1 {
					dup = name
					break
				}
			}
			if dup != "" {
				c.fail(I8NoDuplicateByName, 0, "job %s group %s: live allocs %v share the name %s",
					job.ID, tg.Name, liveByName[dup], dup)
			} else {
				c.ok()
			}
		}
		missing := []string{}
		for i := 0; i < want; i++ {
			if len(names[AllocName(job.ID, tg.Name, i)]) == 0 {
				missing = append(missing, AllocName(job.ID, tg.Name, i))
			}
		}
		if total != want || len(missing) > 0 {
			c.fail(I1CountExact, 0, "job %s group %s: %d allocs want to run, Count is %d (missing %v)",
				job.ID, tg.Name, total, want, missing)
		} else {
			c.ok()
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
