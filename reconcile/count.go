package reconcile

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/rejoinhq/rejoin/structs"
)

// stepCount is step 7: place missing slots with the lowest unused name
// indexes, then stop pending or running allocs beyond Count.
func (e *engine) stepCount(g int32, tg *structs.TaskGroup) {
	if missing := tg.Count - e.filled; missing > 0 {
		e.placeMissing(g, tg, missing)
	}
	e.stopExtras(g, tg)
}

func (e *engine) placeMissing(g int32, tg *structs.TaskGroup, missing int) {
	// used[k]: name index k is held by a live alloc or a placement.
	used := make([]bool, tg.Count+missing+len(e.res.Place)-e.placeFrom+1)
	mark := func(k int32) {
		if k >= 0 && int(k) < len(used) {
			used[k] = true
		}
	}
	for i := range e.infos {
		if ai := &e.infos[i]; ai.group == g && ai.live() {
			mark(ai.nameIdx)
		}
	}
	for _, p := range e.res.Place[e.placeFrom:] {
		mark(nameIndex(p.Name))
	}
	filled := e.filled
	for k := 0; missing > 0 && k < len(used); k++ {
		if used[k] {
			continue
		}
		e.place(g, fmt.Sprintf("%s.%s[%d]", e.job.ID, tg.Name, k), none, "",
			fmt.Sprintf("step 7: group fills %d of %d slots → place lowest unused index %d", filled, tg.Count, k))
		missing--
	}
}

// extra is a candidate for step 7's extras: a live pending or running alloc
// or a placement of this result.
type extra struct {
	idx      int32 // alloc index, or none for a placement
	place    int   // index into res.Place for a placement
	nameIdx  int32
	original bool // someone's original: it has a live replacement
	id       string
}

// stopExtras stops, from the highest name index down, the pending or
// running allocs beyond Count; unknown and client-terminal ones are neither
// counted nor chosen. On equal index an alloc that is not someone's
// original goes first, placements before existing allocs, then by
// descending ID.
func (e *engine) stopExtras(g int32, tg *structs.TaskGroup) {
	n := len(e.res.Place) - e.placeFrom
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group == g && ai.live() && (ai.statusAfter() == statusPending || ai.statusAfter() == statusRunning) {
			n++
		}
	}
	if n <= tg.Count {
		return
	}
	cands := make([]extra, 0, n)
	for i := range e.infos {
		ai := &e.infos[i]
		if ai.group == g && ai.live() && (ai.statusAfter() == statusPending || ai.statusAfter() == statusRunning) {
			cands = append(cands, extra{idx: int32(i), nameIdx: ai.nameIdx, original: e.hasLiveReplacement(int32(i)), id: ai.a.ID})
		}
	}
	for k := e.placeFrom; k < len(e.res.Place); k++ {
		cands = append(cands, extra{idx: none, place: k, nameIdx: nameIndex(e.res.Place[k].Name)})
	}
	slices.SortFunc(cands, func(a, b extra) int {
		return cmp.Or(
			cmp.Compare(b.nameIdx, a.nameIdx),
			cmpBool(a.original, b.original),       // non-originals first
			cmpBool(a.idx != none, b.idx != none), // placements first
			cmp.Compare(b.id, a.id),
		)
	})
	excess := n - tg.Count
	dropPlace := make(map[int]bool)
	for _, c := range cands[:excess] {
		reason := fmt.Sprintf("step 7: %d pending/running exceed count %d; highest name index %d goes first", n, tg.Count, c.nameIdx)
		if c.idx == none {
			dropPlace[c.place] = true
			continue
		}
		e.unReconnect(c.idx)
		e.stop(c.idx, "", structs.AllocNotNeeded, reason)
	}
	if len(dropPlace) > 0 {
		kept := e.res.Place[:e.placeFrom]
		for k := e.placeFrom; k < len(e.res.Place); k++ {
			if dropPlace[k] {
				if prev := e.res.Place[k].PreviousAllocation; prev != "" {
					e.clearPlacedFor(g, prev)
				}
				continue
			}
			kept = append(kept, e.res.Place[k])
		}
		e.res.Place = kept
	}
}

// unReconnect withdraws a Reconnect or Update of i: it is being stopped.
func (e *engine) unReconnect(i int32) {
	ai := &e.infos[i]
	id := ai.a.ID
	if ai.reconnected {
		ai.reconnected = false
		e.res.Reconnect = slices.DeleteFunc(e.res.Reconnect, func(d AllocDecision) bool { return d.AllocID == id })
	}
	if ai.updated {
		ai.updated = false
		e.res.Update = slices.DeleteFunc(e.res.Update, func(d AllocDecision) bool { return d.AllocID == id })
	}
}

// clearPlacedFor forgets that a dropped placement replaced the alloc id.
func (e *engine) clearPlacedFor(g int32, id string) {
	for i := range e.infos {
		if ai := &e.infos[i]; ai.group == g && ai.a.ID == id {
			ai.placedFor = false
		}
	}
}

func isPendingOrRunning(s string) bool {
	return s == structs.AllocClientStatusPending || s == structs.AllocClientStatusRunning
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}
