package rejoin

import (
	"fmt"
	"testing"

	"github.com/shoenig/test/must"
)

// The per-alloc decision memory is bounded: the oldest alloc is forgotten
// first, and a newer decision about a remembered alloc replaces the old.
func TestDecisionLog_Bounded(t *testing.T) {
	l := newDecisionLog(3)
	for i := range 5 {
		l.record([]Decision{{AllocID: fmt.Sprintf("a%d", i), Kind: KindPlace, Index: uint64(i)}})
	}
	for i := range 2 {
		_, ok := l.LastDecision(fmt.Sprintf("a%d", i))
		must.False(t, ok)
	}
	l.record([]Decision{{AllocID: "a2", Kind: KindStop, Reason: "r"}, {Kind: KindFollowUp}})
	d, ok := l.LastDecision("a2")
	must.True(t, ok)
	must.Eq(t, KindStop, d.Kind)
	must.MapLen(t, 3, l.last)
	l.record([]Decision{{AllocID: "a5"}})
	_, ok = l.LastDecision("a2")
	must.False(t, ok) // still the oldest first recorded
	_, ok = l.LastDecision("a4")
	must.True(t, ok)

	off := newDecisionLog(0)
	off.record([]Decision{{AllocID: "x"}})
	_, ok = off.LastDecision("x")
	must.False(t, ok)
}
