package state

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/shoenig/test/must"
)

// keyOrder gives exactly the order of sorting by allocKeys.compare, for
// rows in ID order (the grouping path) and in any order (the sort path),
// leaving out rows without a row in the part's table.
func TestKeyOrder_MatchesCompareSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(prefix string, n int, emptyToo bool) string {
		i := r.IntN(n)
		if emptyToo && i == 0 {
			return ""
		}
		return fmt.Sprintf("%s%d", prefix, i)
	}
	var rows []*allocKeys
	for i := range 2000 {
		rows = append(rows, &allocKeys{ID: fmt.Sprintf("a%05d", i), NodeID: pick("n", 30, true),
			Terminal: r.IntN(3) == 0, Namespace: pick("ns", 3, false), JobID: pick("j", 40, false)})
	}
	shuffled := slices.Clone(rows)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for p := range numKeyParts {
		var want []*allocKeys
		for _, k := range rows {
			if k.has(p) {
				want = append(want, k)
			}
		}
		slices.SortFunc(want, func(a, b *allocKeys) int { return a.compare(p, b) })
		must.SliceNotEmpty(t, want)
		must.Eq(t, want, keyOrder(rows, p), must.Sprintf("part %d, ID order", p))
		must.Eq(t, want, keyOrder(shuffled, p), must.Sprintf("part %d, shuffled", p))
		must.True(t, slices.IsSortedFunc(rows, func(a, b *allocKeys) int { return cmp.Compare(a.ID, b.ID) }))
	}
	must.SliceEmpty(t, keyOrder(nil, partNode))
}
