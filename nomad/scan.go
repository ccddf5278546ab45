package nomad

import (
	"errors"
	"fmt"

	"github.com/rejoinhq/rejoin/internal/mpscan"
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
		h, ok := mpscan.Classify(c)
		if !ok {
			return 0, errReserved
		}
		head := uint64(1 + h.LenBytes) // type byte and length field
		if uint64(len(b)-pos) < head {
			return 0, errShort
		}
		var n uint64
		if h.LenBytes > 0 {
			n = mpscan.Length(b[pos+1 : pos+int(head)])
		}
		body, elems := h.Sized(n) // payload bytes, child values
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
