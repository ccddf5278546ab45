package heartbeat

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// isCanonicalUUID is the obvious reference for uuidKey's ok result.
func isCanonicalUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

func TestUUIDKey_RoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	seen := map[[2]uint64]string{}
	for range 20000 {
		k0, k1 := r.Uint64(), r.Uint64()
		s := uuidString(k0, k1)
		must.True(t, isCanonicalUUID(s), must.Sprint(s))
		g0, g1, ok := uuidKey(s)
		must.True(t, ok)
		must.Eq(t, [2]uint64{k0, k1}, [2]uint64{g0, g1})
		seen[[2]uint64{k0, k1}] = s
	}
	for _, s := range []string{
		"00000000-0000-0000-0000-000000000000",
		"ffffffff-ffff-ffff-ffff-ffffffffffff",
		"01234567-89ab-cdef-0123-456789abcdef",
		"9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0",
	} {
		k0, k1, ok := uuidKey(s)
		must.True(t, ok, must.Sprint(s))
		must.Eq(t, s, uuidString(k0, k1))
	}
	// The key is the text's value: its order is the strings' order.
	k0, k1, _ := uuidKey("01234567-89ab-cdef-0123-456789abcdef")
	must.Eq(t, [2]uint64{0x0123456789abcdef, 0x0123456789abcdef}, [2]uint64{k0, k1})
	for range 20000 {
		a := uuidString(r.Uint64()>>r.IntN(64), r.Uint64()>>r.IntN(64))
		b := uuidString(r.Uint64()>>r.IntN(64), r.Uint64()>>r.IntN(64))
		a0, a1, _ := uuidKey(a)
		b0, b1, _ := uuidKey(b)
		must.Eq(t, strings.Compare(a, b), cmp.Or(cmp.Compare(a0, b0), cmp.Compare(a1, b1)), must.Sprint(a, " ", b))
	}
	// Distinct strings give distinct keys: the key is a bijection.
	a0, a1, _ := uuidKey("01234567-89ab-cdef-0123-456789abcdef")
	b0, b1, _ := uuidKey("01234567-89ab-cdef-0123-456789abcdee")
	must.NotEq(t, [2]uint64{a0, a1}, [2]uint64{b0, b1})
}

func TestUUIDKey_RejectsNonCanonical(t *testing.T) {
	good := "01234567-89ab-cdef-0123-456789abcdef"
	for _, s := range []string{
		"", "n1", good[:35], good + "0",
		strings.ToUpper(good),
		"01234567-89aB-cdef-0123-456789abcdef",
		"01234567_89ab-cdef-0123-456789abcdef",
		"0123456789ab-cdef-0123-456789abcdef-",
		"{1234567-89ab-cdef-0123-456789abcdef",
		"01234567-89ab-cdef-0123-456789abcdeg",
		"01234567-89ab-cdef-0123-456789abcde\x80",
		"01234567-89ab-cdef-0123-456789abcde/",
		"01234567-89ab-cdef-0123-456789abcde:",
		"01234567-89ab-cdef-0123-456789abcde`",
		"0123456g-89ab-cdef-0123-456789abcdef",
	} {
		_, _, ok := uuidKey(s)
		must.False(t, ok, must.Sprint(s))
	}
}

// TestUUIDKey_MatchesReference mutates one byte of a canonical UUID to every
// value at every position and checks uuidKey against the reference.
func TestUUIDKey_MatchesReference(t *testing.T) {
	base := []byte("a0b1c2d3-e4f5-0617-2839-4a5b6c7d8e9f")
	for pos := range base {
		for c := range 256 {
			b := append([]byte(nil), base...)
			b[pos] = byte(c)
			s := string(b)
			k0, k1, ok := uuidKey(s)
			must.Eq(t, isCanonicalUUID(s), ok, must.Sprint(fmt.Sprintf("%q", s)))
			if ok {
				must.Eq(t, s, uuidString(k0, k1))
			}
		}
	}
}
