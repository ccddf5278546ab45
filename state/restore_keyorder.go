package state

import (
	"cmp"
	"slices"
)

// keyOrder returns rows (every alloc's key rows, in alloc ID order) that
// have a row in part p's table, in the order of p's index keys: what
// allocKeys.compare sorts them into.
//
// A restore's allocs arrive in ID order, so instead of sorting a million
// rows per table it groups them by the part's leading fields (node and
// terminal flag, job: thousands of groups) and sorts only the
// groups; inside a group the rows keep their ID order, which is the key
// order's last field. Rows not in ID order (LoadStore takes any order) are
// sorted the general way.
func keyOrder(rows []*allocKeys, p keyPart) []*allocKeys {
	out := make([]*allocKeys, 0, len(rows))
	for _, k := range rows {
		if k.has(p) {
			out = append(out, k)
		}
	}
	if !slices.IsSortedFunc(out, func(a, b *allocKeys) int { return cmp.Compare(a.ID, b.ID) }) {
		slices.SortFunc(out, func(a, b *allocKeys) int { return a.compare(p, b) })
		return out
	}
	// Pass 1: the group of every row, and each group's size and first row
	// (which names the group).
	type group struct {
		first *allocKeys
		n     int
	}
	type lead struct {
		a, b     string
		terminal bool
	}
	ids := make(map[lead]int32)
	var groups []group
	gid := make([]int32, len(out))
	for i, k := range out {
		var key lead
		switch p {
		case partNode:
			key = lead{a: k.NodeID, terminal: k.Terminal}
		case partJob:
			key = lead{a: k.Namespace, b: k.JobID}
		}
		g, ok := ids[key]
		if !ok {
			g = int32(len(groups))
			ids[key] = g
			groups = append(groups, group{first: k})
		}
		groups[g].n++
		gid[i] = g
	}
	// The groups in key order (a group's first row stands for all of its
	// rows: they share the leading fields), then each group's offset.
	order := make([]int32, len(groups))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return groups[x].first.compare(p, groups[y].first) })
	start := make([]int, len(groups))
	off := 0
	for _, g := range order {
		start[g] = off
		off += groups[g].n
	}
	// Pass 2: place the rows, stable within each group.
	sorted := make([]*allocKeys, len(out))
	for i, k := range out {
		g := gid[i]
		sorted[start[g]] = k
		start[g]++
	}
	return sorted
}
