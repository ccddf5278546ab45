package heartbeat

import (
	"cmp"
	"slices"
	"unsafe"
)

// expired is what one firing took out of the shards, delivered in deadline
// order, ties by ID. UUID IDs stay 24-byte keys until delivery: sorting
// them compares integers (keys order as their strings do, see uuidKey) and
// moves small entries, and their strings are formatted once, into one
// allocation per batch.
type expired struct {
	u []urec   // expired UUID nodes
	s []record // expired nodes of the string table
}

func (x *expired) len() int { return len(x.u) + len(x.s) }

func (x *expired) sort() {
	slices.SortFunc(x.u, func(a, b urec) int {
		if c := cmp.Compare(a.due, b.due); c != 0 {
			return c
		}
		if c := cmp.Compare(a.k0, b.k0); c != 0 {
			return c
		}
		return cmp.Compare(a.k1, b.k1)
	})
	slices.SortFunc(x.s, func(a, b record) int {
		if c := cmp.Compare(a.due, b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
}

// next removes and returns the first n IDs (all if fewer), merging the two
// sorted lists. The batch is the callback's to keep.
func (x *expired) next(n int) []string {
	n = min(n, x.len())
	ids := make([]string, n)
	// Exactly enough room for every UUID the batch can take, so text is
	// never reallocated under the strings already made from it.
	text := make([]byte, 0, min(n, len(x.u))*36)
	var scratch [36]byte
	for k := range ids {
		if len(x.s) == 0 || len(x.u) > 0 && uuidFirst(x.u[0], x.s[0], &scratch) {
			r := x.u[0]
			start := len(text)
			text = appendUUID(text, r.k0, r.k1)
			ids[k] = unsafe.String(&text[start], 36) // text is never written again
			x.u = x.u[1:]
			continue
		}
		ids[k] = x.s[0].id
		x.s[0] = record{} // lets the string be collected once delivered
		x.s = x.s[1:]
	}
	return ids
}

// uuidFirst reports whether u comes before s. They are never the same ID:
// a canonical UUID other than the nil UUID is never in the string table.
func uuidFirst(u urec, s record, scratch *[36]byte) bool {
	if u.due != s.due {
		return u.due < s.due
	}
	return string(appendUUID(scratch[:0], u.k0, u.k1)) < s.id
}
