package structs

import (
	"encoding/binary"
	"math"
	"time"
)

// DecodeAllocation decodes one msgpack-encoded Allocation, exactly as
// Unmarshal(b, new(Allocation)) would (same result, same errors).
//
// Snapshot restore decodes a million allocations, and the reflective codec
// spends about 5 µs on each; this decoder reads the shapes MsgpackHandle and
// CanonicalMsgpackHandle write (structs as maps keyed by field name, every
// field at most once, no unknown fields, the integer and string formats the
// encoder picks) by hand, in a fraction of that. Anything else (a struct
// written as an array, an unknown or repeated field, a nil inside a list,
// a value of an unexpected format, malformed input) is handed to the
// reflective codec, so its rules stay the only ones: this is an
// optimisation, never a second dialect. FuzzDecodeAllocation compares the
// two on arbitrary input.
func DecodeAllocation(b []byte) (*Allocation, error) {
	return new(AllocationDecoder).Decode(b)
}

// AllocationDecoder is DecodeAllocation for a stream of allocations: it
// shares the strings that repeat from one allocation to the next (node,
// job, eval IDs, namespace, statuses), so a million restored allocations
// carry one copy of each instead of a million, and decoding allocates a
// third less. The result is the same as DecodeAllocation's. The zero value
// is ready to use; not safe for concurrent use.
type AllocationDecoder struct {
	strs map[string]string
}

// maxSharedStrings bounds the decoder's table: past it, new strings are
// allocated per allocation again (a table of every alloc ID would cost
// more than it saves).
const maxSharedStrings = 1 << 16

// Decode decodes one msgpack-encoded Allocation; see DecodeAllocation.
func (ad *AllocationDecoder) Decode(b []byte) (*Allocation, error) {
	d := fastDecoder{b: b, shared: ad}
	if a := d.allocation(); !d.bad {
		return a, nil
	}
	a := new(Allocation)
	if err := Unmarshal(b, a); err != nil {
		return nil, err
	}
	return a, nil
}

// fastDecoder reads msgpack from b. Any surprise sets bad; the caller then
// discards what was decoded and falls back to the reflective codec, so
// methods only need to stop doing harm once bad is set, not to unwind.
type fastDecoder struct {
	b      []byte
	i      int
	bad    bool
	shared *AllocationDecoder // nil: no string sharing
}

func (d *fastDecoder) fail() { d.bad = true }

// byte1 returns the next byte; at the end of input it fails.
func (d *fastDecoder) byte1() byte {
	if d.bad || d.i >= len(d.b) {
		d.fail()
		return 0xc1 // never used by msgpack: no case matches it
	}
	c := d.b[d.i]
	d.i++
	return c
}

// take returns the next n bytes.
func (d *fastDecoder) take(n int) []byte {
	if d.bad || n < 0 || n > len(d.b)-d.i {
		d.fail()
		return nil
	}
	s := d.b[d.i : d.i+n]
	d.i += n
	return s
}

// isNil consumes a nil if one is next.
func (d *fastDecoder) isNil() bool {
	if !d.bad && d.i < len(d.b) && d.b[d.i] == 0xc0 {
		d.i++
		return true
	}
	return false
}

// size reads a big-endian length of n bytes (1, 2 or 4).
func (d *fastDecoder) size(n int) int {
	s := d.take(n)
	switch n {
	case 1:
		if s != nil {
			return int(s[0])
		}
	case 2:
		if s != nil {
			return int(binary.BigEndian.Uint16(s))
		}
	case 4:
		if s != nil {
			return int(binary.BigEndian.Uint32(s))
		}
	}
	return 0
}

// mapLen reads a map header and returns its number of entries.
func (d *fastDecoder) mapLen() int {
	c := d.byte1()
	switch {
	case c&0xf0 == 0x80:
		return int(c & 0x0f)
	case c == 0xde:
		return d.size(2)
	case c == 0xdf:
		return d.size(4)
	}
	d.fail()
	return 0
}

// arrayLen reads an array header and returns its number of elements.
func (d *fastDecoder) arrayLen() int {
	c := d.byte1()
	switch {
	case c&0xf0 == 0x90:
		return int(c & 0x0f)
	case c == 0xdc:
		return d.size(2)
	case c == 0xdd:
		return d.size(4)
	}
	d.fail()
	return 0
}

// rawBytes reads a str or bin value (the handle decodes both as strings).
func (d *fastDecoder) rawBytes() []byte {
	c := d.byte1()
	switch {
	case c&0xe0 == 0xa0:
		return d.take(int(c & 0x1f))
	case c == 0xd9, c == 0xc4:
		return d.take(d.size(1))
	case c == 0xda, c == 0xc5:
		return d.take(d.size(2))
	case c == 0xdb, c == 0xc6:
		return d.take(d.size(4))
	}
	d.fail()
	return nil
}

func (d *fastDecoder) str() string {
	if d.isNil() {
		return ""
	}
	return string(d.rawBytes())
}

// sharedStr reads a string that often repeats across allocations, and
// returns the decoder's copy of it.
func (d *fastDecoder) sharedStr() string {
	if d.isNil() {
		return ""
	}
	b := d.rawBytes()
	if d.shared == nil || d.bad {
		return string(b)
	}
	if s, ok := d.shared.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.shared.strs == nil {
		d.shared.strs = make(map[string]string)
	}
	if len(d.shared.strs) < maxSharedStrings {
		d.shared.strs[s] = s
	}
	return s
}

// uint reads an unsigned integer in a uint format (or a positive fixint).
func (d *fastDecoder) uint() uint64 {
	if d.isNil() {
		return 0
	}
	c := d.byte1()
	switch {
	case c <= 0x7f:
		return uint64(c)
	case c == 0xcc:
		if s := d.take(1); s != nil {
			return uint64(s[0])
		}
	case c == 0xcd:
		if s := d.take(2); s != nil {
			return uint64(binary.BigEndian.Uint16(s))
		}
	case c == 0xce:
		if s := d.take(4); s != nil {
			return uint64(binary.BigEndian.Uint32(s))
		}
	case c == 0xcf:
		if s := d.take(8); s != nil {
			return binary.BigEndian.Uint64(s)
		}
	default:
		d.fail()
	}
	return 0
}

// int reads a signed integer in an int format or a fixint; a uint format
// is taken when it fits.
func (d *fastDecoder) int() int64 {
	if d.isNil() {
		return 0
	}
	if d.i < len(d.b) {
		switch c := d.b[d.i]; {
		case c <= 0x7f, c >= 0xcc && c <= 0xcf:
			v := d.uint()
			if v > math.MaxInt64 {
				d.fail()
			}
			return int64(v)
		}
	}
	c := d.byte1()
	switch {
	case c >= 0xe0:
		return int64(int8(c))
	case c == 0xd0:
		if s := d.take(1); s != nil {
			return int64(int8(s[0]))
		}
	case c == 0xd1:
		if s := d.take(2); s != nil {
			return int64(int16(binary.BigEndian.Uint16(s)))
		}
	case c == 0xd2:
		if s := d.take(4); s != nil {
			return int64(int32(binary.BigEndian.Uint32(s)))
		}
	case c == 0xd3:
		if s := d.take(8); s != nil {
			return int64(binary.BigEndian.Uint64(s))
		}
	default:
		d.fail()
	}
	return 0
}

func (d *fastDecoder) bool() bool {
	if d.isNil() {
		return false
	}
	switch d.byte1() {
	case 0xc2:
		return false
	case 0xc3:
		return true
	}
	d.fail()
	return false
}

// float reads a float64 (only the float64 format; others fall back).
func (d *fastDecoder) float() float64 {
	if d.isNil() {
		return 0
	}
	if d.byte1() != 0xcb {
		d.fail()
		return 0
	}
	if s := d.take(8); s != nil {
		return math.Float64frombits(binary.BigEndian.Uint64(s))
	}
	return 0
}

// time reads a time.Time as the handle writes it (TimeNotBuiltin: the
// time's MarshalBinary bytes).
func (d *fastDecoder) time() time.Time {
	var t time.Time
	if d.isNil() {
		return t
	}
	b := d.rawBytes()
	if d.bad {
		return t
	}
	if err := t.UnmarshalBinary(b); err != nil {
		d.fail()
	}
	return t
}

// fields calls field for each key of a struct written as a map, failing on
// a repeated or unknown field (field returns false) or a non-string key.
// Fields are numbered by field, at most 64.
func (d *fastDecoder) fields(field func(name []byte) (idx int, ok bool)) {
	n := d.mapLen()
	var seen uint64
	for range n {
		if d.bad {
			return
		}
		name := d.rawBytes()
		if d.bad {
			return
		}
		idx, ok := field(name)
		if !ok || seen&(1<<idx) != 0 {
			d.fail()
			return
		}
		seen |= 1 << idx
	}
}

// The field decoders below mirror the struct definitions in alloc.go; a
// field added there and not here makes every record carrying it take the
// fallback (an unknown key), which is slower but still correct.

func (d *fastDecoder) allocation() *Allocation {
	if d.i >= len(d.b) || d.b[d.i] == 0xc0 {
		d.fail() // a nil record: the codec's business
		return nil
	}
	a := new(Allocation)
	d.fields(func(name []byte) (int, bool) {
		switch string(name) {
		case "ID":
			a.ID = d.str()
			return 0, true
		case "Namespace":
			a.Namespace = d.sharedStr()
			return 1, true
		case "EvalID":
			a.EvalID = d.sharedStr()
			return 2, true
		case "Name":
			a.Name = d.str()
			return 3, true
		case "NodeID":
			a.NodeID = d.sharedStr()
			return 4, true
		case "JobID":
			a.JobID = d.sharedStr()
			return 5, true
		case "JobVersion":
			a.JobVersion = d.uint()
			return 6, true
		case "TaskGroup":
			a.TaskGroup = d.sharedStr()
			return 7, true
		case "DesiredStatus":
			a.DesiredStatus = d.sharedStr()
			return 8, true
		case "DesiredDescription":
			a.DesiredDescription = d.sharedStr()
			return 9, true
		case "ClientStatus":
			a.ClientStatus = d.sharedStr()
			return 10, true
		case "ClientDescription":
			a.ClientDescription = d.sharedStr()
			return 11, true
		case "AllocStates":
			a.AllocStates = d.allocStates()
			return 12, true
		case "PreviousAllocation":
			a.PreviousAllocation = d.str()
			return 13, true
		case "NextAllocation":
			a.NextAllocation = d.str()
			return 14, true
		case "FollowupEvalID":
			a.FollowupEvalID = d.sharedStr()
			return 15, true
		case "Metrics":
			a.Metrics = d.allocMetric()
			return 16, true
		case "TaskStates":
			a.TaskStates = d.taskStates()
			return 17, true
		case "RescheduleTracker":
			a.RescheduleTracker = d.rescheduleTracker()
			return 18, true
		case "CreateIndex":
			a.CreateIndex = d.uint()
			return 19, true
		case "ModifyIndex":
			a.ModifyIndex = d.uint()
			return 20, true
		case "AllocModifyIndex":
			a.AllocModifyIndex = d.uint()
			return 21, true
		case "CreateTime":
			a.CreateTime = d.int()
			return 22, true
		case "ModifyTime":
			a.ModifyTime = d.int()
			return 23, true
		}
		return 0, false
	})
	return a
}

// listLen reads the header of a list of pointers to structs: nil gives
// (0, true) for a nil slice. Every element takes at least one byte, which
// bounds the allocation by the input.
func (d *fastDecoder) listLen() (n int, isNil bool) {
	if d.isNil() {
		return 0, true
	}
	n = d.arrayLen()
	if n > len(d.b)-d.i {
		d.fail()
		return 0, false
	}
	return n, false
}

// element checks the next list element or map value is a struct (a map):
// a nil one is the codec's business.
func (d *fastDecoder) element() bool {
	if d.bad || d.i >= len(d.b) || d.b[d.i] == 0xc0 {
		d.fail()
		return false
	}
	return true
}

func (d *fastDecoder) allocStates() []*AllocState {
	n, isNil := d.listLen()
	if isNil || d.bad {
		return nil
	}
	out := make([]*AllocState, n)
	vals := make([]AllocState, n)
	for i := range out {
		if !d.element() {
			return nil
		}
		s := &vals[i]
		d.fields(func(name []byte) (int, bool) {
			switch string(name) {
			case "Field":
				v := d.uint()
				if v > math.MaxUint8 {
					d.fail()
				}
				s.Field = AllocStateField(v)
				return 0, true
			case "Value":
				s.Value = d.sharedStr()
				return 1, true
			case "Time":
				s.Time = d.time()
				return 2, true
			}
			return 0, false
		})
		out[i] = s
	}
	return out
}

func (d *fastDecoder) allocMetric() *AllocMetric {
	if d.isNil() {
		return nil
	}
	m := new(AllocMetric)
	d.fields(func(name []byte) (int, bool) {
		if string(name) != "ScoreMetaData" {
			return 0, false
		}
		n, isNil := d.listLen()
		if isNil || d.bad {
			return 0, true
		}
		m.ScoreMetaData = make([]*NodeScoreMeta, n)
		for i := range m.ScoreMetaData {
			if !d.element() {
				return 0, true
			}
			s := new(NodeScoreMeta)
			d.fields(func(name []byte) (int, bool) {
				switch string(name) {
				case "NodeID":
					s.NodeID = d.str()
					return 0, true
				case "Scores":
					s.Scores = d.scores()
					return 1, true
				case "NormScore":
					s.NormScore = d.float()
					return 2, true
				}
				return 0, false
			})
			m.ScoreMetaData[i] = s
		}
		return 0, true
	})
	return m
}

// mapHeader reads a map header for a map field: nil gives (0, true) for a
// nil map. Every entry takes at least two bytes.
func (d *fastDecoder) mapHeader() (n int, isNil bool) {
	if d.isNil() {
		return 0, true
	}
	n = d.mapLen()
	if n > (len(d.b)-d.i)/2 {
		d.fail()
		return 0, false
	}
	return n, false
}

// mapKey reads a string map key; a repeated key is the codec's business
// (it merges into the existing value).
func mapKey[V any](d *fastDecoder, m map[string]V) string {
	if d.bad || d.i >= len(d.b) || d.b[d.i] == 0xc0 {
		d.fail()
		return ""
	}
	k := string(d.rawBytes())
	if _, dup := m[k]; dup {
		d.fail()
	}
	return k
}

func (d *fastDecoder) scores() map[string]float64 {
	n, isNil := d.mapHeader()
	if isNil || d.bad {
		return nil
	}
	m := make(map[string]float64, n)
	for range n {
		k := mapKey(d, m)
		if d.bad {
			return nil
		}
		m[k] = d.float()
	}
	return m
}

func (d *fastDecoder) taskStates() map[string]*TaskState {
	n, isNil := d.mapHeader()
	if isNil || d.bad {
		return nil
	}
	m := make(map[string]*TaskState, n)
	for range n {
		k := mapKey(d, m)
		if !d.element() {
			return nil
		}
		s := new(TaskState)
		d.fields(func(name []byte) (int, bool) {
			switch string(name) {
			case "State":
				s.State = d.str()
				return 0, true
			case "Failed":
				s.Failed = d.bool()
				return 1, true
			case "Restarts":
				s.Restarts = d.uint()
				return 2, true
			case "LastRestart":
				s.LastRestart = d.time()
				return 3, true
			case "StartedAt":
				s.StartedAt = d.time()
				return 4, true
			case "FinishedAt":
				s.FinishedAt = d.time()
				return 5, true
			}
			return 0, false
		})
		m[k] = s
	}
	return m
}

func (d *fastDecoder) rescheduleTracker() *RescheduleTracker {
	if d.isNil() {
		return nil
	}
	r := new(RescheduleTracker)
	d.fields(func(name []byte) (int, bool) {
		if string(name) != "Events" {
			return 0, false
		}
		n, isNil := d.listLen()
		if isNil || d.bad {
			return 0, true
		}
		r.Events = make([]*RescheduleEvent, n)
		for i := range r.Events {
			if !d.element() {
				return 0, true
			}
			e := new(RescheduleEvent)
			d.fields(func(name []byte) (int, bool) {
				switch string(name) {
				case "RescheduleTime":
					e.RescheduleTime = d.int()
					return 0, true
				case "PrevAllocID":
					e.PrevAllocID = d.str()
					return 1, true
				case "PrevNodeID":
					e.PrevNodeID = d.str()
					return 2, true
				case "Delay":
					e.Delay = time.Duration(d.int())
					return 3, true
				}
				return 0, false
			})
			r.Events[i] = e
		}
		return 0, true
	})
	return r
}
