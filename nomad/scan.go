package nomad

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// maxDepth bounds the nesting of one msgpack value. Nomad's structs nest a
// dozen levels deep; the cap keeps hostile input from driving the codec's
// recursive decoder into a stack overflow (fatal, not a recoverable panic).
const maxDepth = 256

var (
	errShort    = errors.New("value runs past the end of the stream")
	errReserved = errors.New("reserved msgpack byte 0xc1")
	errDepth    = fmt.Errorf("value nested deeper than %d levels", maxDepth)
)

// valueLen returns the length in bytes of the one msgpack value at the
// start of b, checking every declared length against what b holds. It
// allocates nothing and does not recurse: open containers are kept as a
// stack of element counts still to read.
func valueLen(b []byte) (int, error) {
	var stack [maxDepth]uint64
	depth := 0
	pos := 0
	for {
		if pos >= len(b) {
			return 0, errShort
		}
		c := b[pos]
		var head, body, elems uint64 // header bytes, payload bytes, child values
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
			head = 1
		case c <= 0x8f:
			head, elems = 1, 2*uint64(c&0x0f)
		case c <= 0x9f:
			head, elems = 1, uint64(c&0x0f)
		case c <= 0xbf:
			head, body = 1, uint64(c&0x1f)
		case c == 0xc1:
			return 0, errReserved
		default:
			var n uint64
			var w int
			head, body, elems, n, w = fixedHead(c)
			if w > 0 {
				if uint64(len(b)-pos) < head {
					return 0, errShort
				}
				switch w {
				case 1:
					n = uint64(b[pos+1])
				case 2:
					n = uint64(binary.BigEndian.Uint16(b[pos+1:]))
				case 4:
					n = uint64(binary.BigEndian.Uint32(b[pos+1:]))
				}
				switch c {
				case 0xdc, 0xdd:
					elems = n
				case 0xde, 0xdf:
					elems = 2 * n
				default:
					body = n
				}
			}
		}
		if uint64(len(b)-pos) < head+body {
			return 0, errShort
		}
		pos += int(head + body)
		// Every child value takes at least one byte: a count beyond the
		// bytes left is a lie, caught here before it is trusted.
		if elems > uint64(len(b)-pos) {
			return 0, errShort
		}
		if elems > 0 {
			if depth == maxDepth {
				return 0, errDepth
			}
			stack[depth] = elems
			depth++
			continue
		}
		// A scalar (or empty container) is done: close finished containers.
		for depth > 0 {
			stack[depth-1]--
			if stack[depth-1] > 0 {
				break
			}
			depth--
		}
		if depth == 0 {
			return pos, nil
		}
	}
}

// fixedHead describes the type bytes 0xc4..0xdf: the header length, the
// payload length when it is fixed, and w, the width of the length field
// that follows the type byte (0 when there is none).
func fixedHead(c byte) (head, body, elems, n uint64, w int) {
	switch c {
	case 0xc4, 0xd9: // bin8, str8
		return 2, 0, 0, 0, 1
	case 0xc5, 0xda: // bin16, str16
		return 3, 0, 0, 0, 2
	case 0xc6, 0xdb: // bin32, str32
		return 5, 0, 0, 0, 4
	case 0xc7: // ext8: length, ext type, data
		return 3, 0, 0, 0, 1
	case 0xc8: // ext16
		return 4, 0, 0, 0, 2
	case 0xc9: // ext32
		return 6, 0, 0, 0, 4
	case 0xca: // float32
		return 1, 4, 0, 0, 0
	case 0xcb: // float64
		return 1, 8, 0, 0, 0
	case 0xcc, 0xd0:
		return 1, 1, 0, 0, 0
	case 0xcd, 0xd1:
		return 1, 2, 0, 0, 0
	case 0xce, 0xd2:
		return 1, 4, 0, 0, 0
	case 0xcf, 0xd3:
		return 1, 8, 0, 0, 0
	case 0xd4: // fixext1: ext type + 1 byte
		return 2, 1, 0, 0, 0
	case 0xd5:
		return 2, 2, 0, 0, 0
	case 0xd6:
		return 2, 4, 0, 0, 0
	case 0xd7:
		return 2, 8, 0, 0, 0
	case 0xd8:
		return 2, 16, 0, 0, 0
	case 0xdc: // array16
		return 3, 0, 0, 0, 2
	case 0xdd: // array32
		return 5, 0, 0, 0, 4
	case 0xde: // map16
		return 3, 0, 0, 0, 2
	default: // 0xdf map32
		return 5, 0, 0, 0, 4
	}
}
