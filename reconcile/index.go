package reconcile

import (
	"github.com/rejoinhq/rejoin/structs"
)

// none marks an absent index.
const none int32 = -1

// allocInfo is what Compute knows and decides about one allocation. One
// slice of these indexes the input; links between allocations are indexes
// into it, so walking replacement chains allocates nothing.
type allocInfo struct {
	a    *structs.Allocation
	node *structs.Node // nil: the node is gone
	// group indexes Job.TaskGroups; none for a group the job lacks.
	group   int32
	cls     class
	row     int8
	cs      status // a.ClientStatus
	nameIdx int32

	next    int32 // the alloc a.NextAllocation names
	prev    int32 // the alloc a.PreviousAllocation names
	revNext int32 // an alloc whose NextAllocation names this one
	child   int32 // first alloc whose PreviousAllocation names this one
	sibling int32 // next alloc with the same PreviousAllocation

	serverTerminal bool
	stopped        bool // stopped by this result
	placedFor      bool // a Placement in this result replaces it
	disconnected   bool // Disconnect in this result: unknown afterwards
	reconnected    bool
	updated        bool
}

// live reports whether the alloc takes part and is not stopped by this result.
func (ai *allocInfo) live() bool { return !ai.serverTerminal && !ai.stopped }

// status is a ClientStatus as a small code, cached in allocInfo so loops
// over every alloc do not chase each alloc's pointer.
type status uint8

const (
	statusOther status = iota
	statusPending
	statusRunning
	statusUnknown
	statusFailed
)

func statusCode(s string) status {
	switch s {
	case structs.AllocClientStatusPending:
		return statusPending
	case structs.AllocClientStatusRunning:
		return statusRunning
	case structs.AllocClientStatusUnknown:
		return statusUnknown
	case structs.AllocClientStatusFailed:
		return statusFailed
	}
	return statusOther
}

// statusAfter is the alloc's ClientStatus once this result is applied.
func (ai *allocInfo) statusAfter() status {
	if ai.disconnected {
		return statusUnknown
	}
	return ai.cs
}

// index builds the allocInfo slice. Only IDs that some link names go into a
// map, so the map grows with the replacement chains, not with the allocs.
func (e *engine) index() {
	allocs := e.in.Allocs
	e.infos = make([]allocInfo, 0, len(allocs))
	links := 0
	for _, a := range allocs {
		if a != nil {
			links += btoi(a.PreviousAllocation != "") + btoi(a.NextAllocation != "")
		}
	}
	var refs map[string]int32
	if links > 0 {
		// Sized up front: in a reconnect storm most allocs are linked, and
		// growing the map was a tenth of a run's garbage.
		refs = make(map[string]int32, links)
		for _, a := range allocs {
			if a == nil {
				continue
			}
			for _, id := range [2]string{a.PreviousAllocation, a.NextAllocation} {
				if id != "" {
					refs[id] = none
				}
			}
		}
	}
	for _, a := range allocs {
		if a == nil {
			continue
		}
		i := int32(len(e.infos))
		node := e.in.Nodes[a.NodeID]
		e.infos = append(e.infos, allocInfo{
			a: a, node: node, group: e.groupOf(a.TaskGroup), nameIdx: nameIndex(a.Name),
			next: none, prev: none, revNext: none, child: none, sibling: none,
			serverTerminal: structs.ServerTerminalStatus(a.DesiredStatus), cs: statusCode(a.ClientStatus),
		})
		if refs != nil {
			if j, ok := refs[a.ID]; ok && j == none {
				refs[a.ID] = i // the first alloc with a duplicated ID wins
			}
		}
	}
	if refs == nil {
		return
	}
	for i := range e.infos {
		ai := &e.infos[i]
		if id := ai.a.NextAllocation; id != "" {
			if j := refs[id]; j != none && j != int32(i) {
				ai.next = j
				if e.infos[j].revNext == none {
					e.infos[j].revNext = int32(i)
				}
			}
		}
		if id := ai.a.PreviousAllocation; id != "" {
			if j := refs[id]; j != none && j != int32(i) {
				ai.prev = j
				ai.sibling = e.infos[j].child
				e.infos[j].child = int32(i)
			}
		}
	}
}

func (e *engine) groupOf(name string) int32 {
	for g, tg := range e.in.Job.TaskGroups {
		if tg != nil && tg.Name == name {
			return int32(g)
		}
	}
	return none
}

// nameIndex parses the i of "<job>.<group>[i]"; none when the name has no index.
func nameIndex(name string) int32 {
	n := len(name)
	if n < 3 || name[n-1] != ']' {
		return none
	}
	i := n - 2
	for i >= 0 && name[i] >= '0' && name[i] <= '9' {
		i--
	}
	if i < 0 || name[i] != '[' || i == n-2 || n-2-i > 9 {
		return none
	}
	v := int32(0)
	for k := i + 1; k < n-1; k++ {
		v = v*10 + int32(name[k]-'0')
	}
	return v
}

// walk visits the allocs reachable from i through NextAllocation and
// through allocs whose PreviousAllocation names a visited one: i's
// replacements, transitively, in both link directions. It stops early when
// visit returns false. Marks are generation-stamped so a walk allocates
// nothing once the scratch stack has grown.
func (e *engine) walk(i int32, visit func(j int32) bool) {
	e.gen++
	e.mark[i] = e.gen
	stack := append(e.stack[:0], i)
	defer func() { e.stack = stack[:0] }()
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if y := e.infos[x].next; y != none && e.mark[y] != e.gen {
			e.mark[y] = e.gen
			stack = append(stack, y)
			if !visit(y) {
				return
			}
		}
		for y := e.infos[x].child; y != none; y = e.infos[y].sibling {
			if e.mark[y] != e.gen {
				e.mark[y] = e.gen
				stack = append(stack, y)
				if !visit(y) {
					return
				}
			}
		}
	}
}

// parent is the alloc that i replaced, or none.
func (e *engine) parent(i int32) int32 {
	if p := e.infos[i].prev; p != none {
		return p
	}
	return e.infos[i].revNext
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
