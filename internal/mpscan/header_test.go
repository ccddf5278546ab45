package mpscan

import (
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/shoenig/test/must"
)

// Walk measures one encoded value with Classify/Sized/Length; the test
// compares it with the codec's own idea of where the value ends.
func walk(t *testing.T, b []byte) int {
	t.Helper()
	pos, pending := 0, uint64(1)
	for pending > 0 {
		h, ok := Classify(b[pos])
		must.True(t, ok)
		pos++
		pending--
		n := uint64(0)
		if h.LenBytes > 0 {
			n = Length(b[pos : pos+h.LenBytes])
			pos += h.LenBytes
		}
		skip, nested := h.Sized(n)
		pos += int(skip)
		pending += nested
	}
	return pos
}

func TestClassify_MeasuresEveryKindOfValue(t *testing.T) {
	big := make([]byte, 70000)
	values := []any{
		nil, true, false, 0, 5, -3, -100, 200, 70000, -70000, 1 << 40, -(1 << 40), uint64(1 << 63),
		float32(1.5), 2.25, "", "short", string(big[:40]), string(big[:300]), string(big),
		[]byte{}, []byte{1, 2, 3}, big[:300], big,
		[]any{}, []any{1, "a", []any{true}}, make([]any, 20), make([]any, 70000),
		map[string]any{}, map[string]any{"a": 1, "b": []any{map[string]any{"c": nil}}},
		func() map[string]any {
			m := map[string]any{}
			for i := 0; i < 20; i++ {
				m[string(rune('a'+i))] = i
			}
			return m
		}(),
	}
	h := &codec.MsgpackHandle{}
	h.WriteExt = true // str8 and bin types, as the newer spec
	for _, v := range values {
		var b []byte
		must.NoError(t, codec.NewEncoderBytes(&b, h).Encode(v))
		trailing := append(b, 0xc0) // a following value must not be swallowed
		must.Eq(t, len(b), walk(t, trailing), must.Sprintf("%T % x", v, b[:min(len(b), 8)]))
	}
}

func TestClassify_ExtAndFixext(t *testing.T) {
	cases := map[string][]byte{
		"fixext1":  {0xd4, 0x01, 0xaa},
		"fixext16": append([]byte{0xd8, 0x01}, make([]byte, 16)...),
		"ext8":     {0xc7, 0x02, 0x05, 0xaa, 0xbb},
		"ext16":    append([]byte{0xc8, 0x00, 0x03, 0x05}, 1, 2, 3),
		"ext32":    append([]byte{0xc9, 0, 0, 0, 1, 0x05}, 9),
	}
	for name, b := range cases {
		must.Eq(t, len(b), walk(t, b), must.Sprint(name))
	}
}

func TestClassify_NeverUsedByte(t *testing.T) {
	_, ok := Classify(0xc1)
	must.False(t, ok)
	for b := 0; b < 256; b++ {
		if b == 0xc1 {
			continue
		}
		_, ok := Classify(byte(b))
		must.True(t, ok, must.Sprintf("0x%02x", b))
	}
}
