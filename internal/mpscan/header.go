package mpscan

import "encoding/binary"

// Header is what a msgpack value's first byte says about the rest of it.
type Header struct {
	// LenBytes is the size of a length or count field that follows the
	// first byte (1, 2 or 4), or 0 when there is none.
	LenBytes int
	// Skip is the payload bytes that follow when LenBytes is 0.
	Skip uint64
	// Count is the nested values per counted element of an array16/32 (1)
	// or map16/32 (2).
	Count uint64
	// Ext says the payload of an ext8/16/32 is preceded by a type byte.
	Ext bool
	// Nested is the nested values of a fixmap or fixarray.
	Nested uint64
}

// Classify returns the header of a value starting with b; ok is false for
// 0xc1, the one byte msgpack never uses.
func Classify(b byte) (h Header, ok bool) {
	switch {
	case b <= 0x7f, b >= 0xe0, b == 0xc0, b == 0xc2, b == 0xc3:
		// positive/negative fixint, nil, false, true: the byte is the value
	case b&0xf0 == 0x80: // fixmap
		h.Nested = 2 * uint64(b&0x0f)
	case b&0xf0 == 0x90: // fixarray
		h.Nested = uint64(b & 0x0f)
	case b&0xe0 == 0xa0: // fixstr
		h.Skip = uint64(b & 0x1f)
	case b == 0xc4, b == 0xd9: // bin8, str8
		h.LenBytes = 1
	case b == 0xc5, b == 0xda: // bin16, str16
		h.LenBytes = 2
	case b == 0xc6, b == 0xdb: // bin32, str32
		h.LenBytes = 4
	case b == 0xc7, b == 0xc8, b == 0xc9: // ext8/16/32
		h.LenBytes, h.Ext = 1<<(b-0xc7), true
	case b == 0xcc, b == 0xd0: // uint8, int8
		h.Skip = 1
	case b == 0xcd, b == 0xd1: // uint16, int16
		h.Skip = 2
	case b == 0xca, b == 0xce, b == 0xd2: // float32, uint32, int32
		h.Skip = 4
	case b == 0xcb, b == 0xcf, b == 0xd3: // float64, uint64, int64
		h.Skip = 8
	case b >= 0xd4 && b <= 0xd8: // fixext 1/2/4/8/16, plus the type byte
		h.Skip = 1 + 1<<(b-0xd4)
	case b == 0xdc: // array16
		h.LenBytes, h.Count = 2, 1
	case b == 0xdd: // array32
		h.LenBytes, h.Count = 4, 1
	case b == 0xde: // map16
		h.LenBytes, h.Count = 2, 2
	case b == 0xdf: // map32
		h.LenBytes, h.Count = 4, 2
	default: // 0xc1
		return h, false
	}
	return h, true
}

// Sized completes h with n, the value of its length field (ignored when
// LenBytes is 0): the payload bytes that follow and the nested values the
// header declares.
func (h Header) Sized(n uint64) (skip, nested uint64) {
	switch {
	case h.LenBytes == 0:
		return h.Skip, h.Nested
	case h.Count > 0:
		return 0, h.Count * n
	case h.Ext:
		return n + 1, 0
	}
	return n, 0
}

// Length decodes a big-endian length field of 1, 2 or 4 bytes.
func Length(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	}
	return 0
}
