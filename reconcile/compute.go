package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// Compute decides what to do with a job's allocations at in.Now. It is a
// pure function: no clock, no randomness, no I/O; its output does not depend
// on map iteration order or on the order of in.Allocs, and in is never
// modified. Every list of the result is non-nil and sorted.
func Compute(in Input) *Results {
	res := newResults()
	if in.Job == nil {
		return res
	}
	e := &engine{in: in, job: in.Job, res: res}
	e.index()
	e.stopServerTerminalOnDeadNodes()
	switch {
	case e.job.Stop:
		e.stopJob()
	case e.job.Type == structs.JobTypeSystem:
		for g := range e.job.TaskGroups {
			e.systemGroup(int32(g))
		}
	default:
		for g := range e.job.TaskGroups {
			e.serviceGroup(int32(g))
		}
	}
	e.flushFollowUps()
	res.sort()
	return res
}

// engine holds one Compute call's working state.
type engine struct {
	in    Input
	job   *structs.Job
	res   *Results
	infos []allocInfo

	// Scratch for walks: generation-stamped marks and a reusable stack.
	mark  []uint32
	gen   uint32
	stack []int32
	// repBuf backs liveReplacements' result, valid until its next call.
	repBuf []int32

	// filled counts the slots the current group's live allocs and new
	// placements fill (step 7's rule), kept up to date by every decision.
	filled int
	// placeFrom is where the current group's placements start in res.Place.
	placeFrom int

	followUps []pendingFollowUp

	// Memoised reason fragments: many allocs share times and scores.
	scoreText map[float64]string
	tsText    [2]struct {
		t time.Time
		s string
	}
}

// ts formats a time for reasons, remembering the last two it formatted.
func (e *engine) ts(t time.Time) string {
	for k := range e.tsText {
		if c := &e.tsText[k]; c.s != "" && c.t.Equal(t) {
			return c.s
		}
	}
	s := ts(t)
	e.tsText[1] = e.tsText[0]
	e.tsText[0].t, e.tsText[0].s = t, s
	return s
}

// stopServerTerminalOnDeadNodes applies the one exception to "server-terminal
// allocs take no part": pending or running on a down or gone node, the
// client can no longer report them, so they are stopped again as lost.
func (e *engine) stopServerTerminalOnDeadNodes() {
	for i := range e.infos {
		ai := &e.infos[i]
		if !ai.serverTerminal {
			continue
		}
		cs := ai.a.ClientStatus
		if cs != structs.AllocClientStatusPending && cs != structs.AllocClientStatusRunning {
			continue
		}
		switch {
		case ai.node == nil:
			e.addStop(int32(i), structs.AllocClientStatusLost, structs.AllocLost,
				fmt.Sprintf("desired %s but client status %s and node %q is gone: stopped again as lost", ai.a.DesiredStatus, cs, ai.a.NodeID))
		case ai.node.Status == structs.NodeStatusDown:
			e.addStop(int32(i), structs.AllocClientStatusLost, structs.AllocLost,
				fmt.Sprintf("desired %s but client status %s and node %q is down: stopped again as lost", ai.a.DesiredStatus, cs, ai.a.NodeID))
		}
	}
}

// stopJob stops every remaining alloc of a stopped job; those the table
// classes as lost (rows 5, 6, 11, 14) with ClientStatus lost.
func (e *engine) stopJob() {
	for i := range e.infos {
		ai := &e.infos[i]
		if !ai.live() {
			continue
		}
		var tg *structs.TaskGroup
		if ai.group != none {
			tg = e.job.TaskGroups[ai.group]
		}
		cls, row := classify(ai.a, ai.node, tg, tg.LostAfter(), e.in.Now)
		if cls == classLost {
			e.addStop(int32(i), structs.AllocClientStatusLost, structs.AllocNotNeeded,
				"job is stopped; "+rowText[row]+" so client status lost")
			continue
		}
		e.addStop(int32(i), "", structs.AllocNotNeeded, "job is stopped; "+rowText[row])
	}
}

// --- decisions --------------------------------------------------------

// addStop records a Stop without slot accounting; use stop inside a group.
func (e *engine) addStop(i int32, clientStatus, desc, reason string) {
	ai := &e.infos[i]
	if ai.stopped {
		return
	}
	ai.stopped = true
	e.res.Stop = append(e.res.Stop, Stop{AllocID: ai.a.ID, ClientStatus: clientStatus, Description: desc, Reason: reason})
}

// stop records a Stop and keeps the group's slot count current.
func (e *engine) stop(i int32, clientStatus, desc, reason string) {
	e.adjust(i, func() { e.addStop(i, clientStatus, desc, reason) })
}

// place records a Placement replacing prev (none for a fresh slot).
func (e *engine) place(g int32, name string, prev int32, nodeID, reason string) {
	p := Placement{Name: name, TaskGroup: e.job.TaskGroups[g].Name, NodeID: nodeID, Reason: reason}
	if prev == none {
		e.res.Place = append(e.res.Place, p)
		e.filled++
		return
	}
	p.PreviousAllocation = e.infos[prev].a.ID
	e.adjust(prev, func() {
		e.infos[prev].placedFor = true
		e.res.Place = append(e.res.Place, p)
	})
	e.filled++
}

func (e *engine) disconnect(i int32, reason string) {
	e.adjust(i, func() {
		e.infos[i].disconnected = true
		e.res.Disconnect = append(e.res.Disconnect, AllocDecision{AllocID: e.infos[i].a.ID, Reason: reason})
	})
}

func (e *engine) reconnect(i int32, reason string) {
	e.infos[i].reconnected = true
	e.res.Reconnect = append(e.res.Reconnect, AllocDecision{AllocID: e.infos[i].a.ID, Reason: reason})
}

func (e *engine) update(i int32, reason string) {
	e.infos[i].updated = true
	e.res.Update = append(e.res.Update, AllocDecision{AllocID: e.infos[i].a.ID, Reason: reason})
}

// --- replacements and slots ---------------------------------------------

func (e *engine) ensureScratch() {
	if e.mark == nil {
		e.mark = make([]uint32, len(e.infos))
	}
}

// hasLiveReplacement reports whether some live alloc of i's group, or a
// placement of this result, replaces i (transitively).
func (e *engine) hasLiveReplacement(i int32) bool {
	if e.infos[i].placedFor {
		return true
	}
	if e.infos[i].next == none && e.infos[i].child == none {
		return false
	}
	e.ensureScratch()
	g := e.infos[i].group
	found := false
	e.walk(i, func(j int32) bool {
		rj := &e.infos[j]
		if rj.group == g && (rj.live() || rj.placedFor) {
			found = true
		}
		return !found
	})
	return found
}

// liveReplacements returns i's live replacements in its group, by ID.
func (e *engine) liveReplacements(i int32) []int32 {
	if e.infos[i].next == none && e.infos[i].child == none {
		return nil
	}
	e.ensureScratch()
	g := e.infos[i].group
	out := e.repBuf[:0]
	e.walk(i, func(j int32) bool {
		if rj := &e.infos[j]; rj.group == g && rj.live() {
			out = append(out, j)
		}
		return true
	})
	e.sortByID(out)
	e.repBuf = out
	return slices.Clip(out)
}

// fill is how many slots i fills: one for a live alloc, except an unknown
// or failed alloc with live replacements fills none of its own.
func (e *engine) fill(i int32) int {
	ai := &e.infos[i]
	if !ai.live() {
		return 0
	}
	if st := ai.statusAfter(); st == statusUnknown || st == statusFailed {
		if e.hasLiveReplacement(i) {
			return 0
		}
	}
	return 1
}

// adjust applies change, which affects i, and corrects filled for i and
// the allocs i replaced (whose fill depends on i being live).
func (e *engine) adjust(i int32, change func()) {
	g := e.infos[i].group
	before := 0
	e.forSelfAndAncestors(i, g, func(j int32) { before += e.fill(j) })
	change()
	after := 0
	e.forSelfAndAncestors(i, g, func(j int32) { after += e.fill(j) })
	e.filled += after - before
}

// forSelfAndAncestors calls f for i and every alloc of group g that i
// (transitively) replaced. Chains are short; a bound guards against cycles.
func (e *engine) forSelfAndAncestors(i, g int32, f func(j int32)) {
	if g == none {
		return
	}
	f(i)
	for j, n := e.parent(i), 0; j != none && j != i && n < 64; j, n = e.parent(j), n+1 {
		if e.infos[j].group == g {
			f(j)
		}
	}
}

// depth counts i's ancestors, so originals are handled before their
// replacements.
func (e *engine) depth(i int32) int {
	n := 0
	for j := e.parent(i); j != none && j != i && n < 64; j = e.parent(j) {
		n++
	}
	return n
}

func (e *engine) sortByID(idx []int32) {
	slices.SortFunc(idx, func(x, y int32) int { return cmp.Compare(e.infos[x].a.ID, e.infos[y].a.ID) })
}

// nameHolder names what already holds lost alloc i's name in group g,
// or "" when nothing does: a placement of this result, or a live alloc
// that fills a slot (step 7's rule) and is not one that i replaced. Those
// ancestors are excluded because i's replacement would replace them too
// (an unknown original whose replacement was lost is still waiting for its
// reconnect decision, which counts the whole chain as one slot).
func (e *engine) nameHolder(g, i int32) string {
	name := e.infos[i].a.Name
	for _, p := range e.res.Place[e.placeFrom:] {
		if p.Name == name {
			return "placement replacing " + cmp.Or(p.PreviousAllocation, "nothing")
		}
	}
	for j := range e.infos {
		aj := &e.infos[j]
		if int32(j) == i || aj.group != g || aj.a.Name != name || !aj.live() || e.isAncestor(int32(j), i) {
			continue
		}
		if e.fill(int32(j)) == 1 {
			return aj.a.ID
		}
	}
	return ""
}

// isAncestor reports whether i (transitively) replaced a, i.e. a is on i's
// parent chain.
func (e *engine) isAncestor(a, i int32) bool {
	for j, n := e.parent(i), 0; j != none && j != i && n < 64; j, n = e.parent(j), n+1 {
		if j == a {
			return true
		}
	}
	return false
}

// noteStop appends to the Reason of i's Stop, so a replay explains why a
// decision that usually follows (a replacement) did not.
func (e *engine) noteStop(i int32, note string) {
	id := e.infos[i].a.ID
	for k := len(e.res.Stop) - 1; k >= 0; k-- {
		if e.res.Stop[k].AllocID == id {
			e.res.Stop[k].Reason += note
			return
		}
	}
}
