package heartbeat

import "math/bits"

// Node IDs are, in practice, UUIDs in canonical lowercase text
// ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", 36 bytes). The tracker stores such
// an ID as its 16 bytes inside the table record, so a Reset compares keys
// without reading the stored string (a second cache miss at a million nodes)
// and the table holds no pointers for the garbage collector to scan. The
// mapping is a bijection between canonical lowercase text and 128 bits, so
// formatting a key gives back exactly the string that was parsed; any other
// ID (uppercase, braces, other lengths) takes the string table instead.

const (
	ones8 = 0x0101010101010101
	high8 = 0x8080808080808080
)

// uuidKey parses canonical lowercase UUID text into two words: the
// numeric value of its first and last 16 hex digits, so (k0, k1) order is
// the strings' order. ok is false for any other string.
func uuidKey(s string) (k0, k1 uint64, ok bool) {
	if len(s) != 36 {
		return 0, 0, false
	}
	_ = s[35]
	if s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return 0, 0, false
	}
	a, okA := hex8(le64(s[0:8]))
	b, okB := hex8(le32(s[9:13]) | le32(s[14:18])<<32)
	c, okC := hex8(le32(s[19:23]) | le32(s[24:28])<<32)
	d, okD := hex8(le64(s[28:36]))
	if !(okA && okB && okC && okD) {
		return 0, 0, false
	}
	return uint64(a)<<32 | uint64(b), uint64(c)<<32 | uint64(d), true
}

// uuidString is the inverse of uuidKey.
func uuidString(k0, k1 uint64) string {
	return string(appendUUID(make([]byte, 0, 36), k0, k1))
}

// appendUUID appends uuidString(k0, k1) to b.
func appendUUID(b []byte, k0, k1 uint64) []byte {
	var buf [36]byte
	put64(buf[0:8], unhex8(uint32(k0>>32)))
	x := unhex8(uint32(k0))
	put32(buf[9:13], uint32(x))
	put32(buf[14:18], uint32(x>>32))
	x = unhex8(uint32(k1 >> 32))
	put32(buf[19:23], uint32(x))
	put32(buf[24:28], uint32(x>>32))
	put64(buf[28:36], unhex8(uint32(k1)))
	buf[8], buf[13], buf[18], buf[23] = '-', '-', '-', '-'
	return append(b, buf[:]...)
}

// uuidHash mixes a key with the tracker's seeds (two rounds of the
// multiply-fold mix used by wyhash), so structured or hostile IDs still
// spread over shards and slots.
func uuidHash(k0, k1 uint64, seed *[3]uint64) uint64 {
	return mix64(mix64(k0^seed[0], k1^seed[1]), seed[2])
}

func mix64(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hex8 converts eight lowercase hex digits (little-endian in x: the first
// character in the low byte) into their 32-bit value, all bytes at once; ok
// is false unless every byte is in [0-9a-f]. The value keeps the text's
// order, so keys compare as their strings do.
func hex8(x uint64) (uint32, bool) {
	if x&high8 != 0 {
		return 0, false
	}
	// With every byte below 0x80, adding c to a byte sets its high bit iff
	// the byte is >= 0x80-c, and no carry crosses into the next byte.
	ge0 := x + 0x50*ones8 // >= '0'
	ge9 := x + 0x46*ones8 // >  '9'
	gea := x + 0x1f*ones8 // >= 'a'
	gef := x + 0x19*ones8 // >  'f'
	if (ge0&^ge9|gea&^gef)&high8 != high8 {
		return 0, false
	}
	// '0'-'9' have bit 6 clear and their value in the low nibble; 'a'-'f'
	// have bit 6 set and value-9 in the low nibble.
	v := x&(0x0f*ones8) + (x>>6)&ones8*9
	v = (v<<4 | v>>8) & 0x00ff00ff00ff00ff
	v = (v | v>>8) & 0x0000ffff0000ffff
	v = (v | v>>16) & 0xffffffff
	return bits.ReverseBytes32(uint32(v)), true
}

// unhex8 is the inverse of hex8: eight lowercase hex digits, little-endian.
func unhex8(u uint32) uint64 {
	t := uint64(bits.ReverseBytes32(u))
	t = (t | t<<16) & 0x0000ffff0000ffff
	t = (t | t<<8) & 0x00ff00ff00ff00ff
	v := (t>>4)&0x000f000f000f000f | (t<<8)&0x0f000f000f000f00
	return v + 0x30*ones8 + ((v+0x06*ones8)>>4)&ones8*0x27
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint64 {
	_ = s[3]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24
}

func put64(b []byte, v uint64) {
	_ = b[7]
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}

func put32(b []byte, v uint32) {
	_ = b[3]
	for i := range 4 {
		b[i] = byte(v >> (8 * i))
	}
}
