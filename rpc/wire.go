package rpc

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/structs"
)

// wireNode is the "Node" service net/rpc dispatches to. It carries errors
// across as "[code] message" strings (see encodeWireError) and turns a handler
// panic into an internal error instead of a crashed server.
type wireNode struct {
	api    NodeAPI
	logger hclog.Logger
}

func (w *wireNode) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) (err error) {
	defer w.recover("Node.Register", &err)
	return wireError(w.api.Register(args, reply))
}

func (w *wireNode) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) (err error) {
	defer w.recover("Node.UpdateStatus", &err)
	return wireError(w.api.UpdateStatus(args, reply))
}

func (w *wireNode) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) (err error) {
	defer w.recover("Node.UpdateAlloc", &err)
	return wireError(w.api.UpdateAlloc(args, reply))
}

func (w *wireNode) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) (err error) {
	defer w.recover("Node.GetClientAllocs", &err)
	return wireError(w.api.GetClientAllocs(args, reply))
}

func (w *wireNode) recover(method string, err *error) {
	if r := recover(); r != nil {
		w.logger.Error("handler panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = encodeWireError(fmt.Errorf("%w: %s", ErrInternal, method))
	}
}

func wireError(err error) error {
	if err == nil {
		return nil
	}
	return encodeWireError(err)
}

// decodeAllocUpdateParams decodes the msgpack-rpc params of a
// Node.UpdateAlloc call, [AllocUpdateRequest], from b into req (which must
// be zero) and returns how many bytes it read. It is the hot request of the
// TCP transport, and go-msgpack's reflective decoder spends most of its time
// finding each field by name; this walks the bytes once and switches on the
// names.
//
// It handles exactly the shape a client sends: maps keyed by field name,
// each field at most once, no unknown field, Evals and the allocs'
// AllocStates, Metrics and RescheduleTracker nil. For anything else, and
// for anything the codec would refuse, it returns ok false, and the caller
// decodes the message with the codec instead, so every message decodes to
// what the codec makes of it (TestFastAllocUpdateDecodeMatchesCodec).
func decodeAllocUpdateParams(b []byte, req *structs.AllocUpdateRequest) (n int, ok bool) {
	r := mpReader{b: b}
	if r.arrayLen() != 1 {
		return 0, false
	}
	fields := r.mapLen()
	var seen uint8
	for range fields {
		var bit uint8
		switch string(r.rawStr()) {
		case "NodeID":
			bit, req.NodeID = 1<<0, r.str()
		case "SecretID":
			bit, req.SecretID = 1<<1, r.str()
		case "Alloc":
			bit = 1 << 2
			req.Alloc = r.allocs()
		case "Evals":
			bit = 1 << 3
			r.nilOnly()
		case "UpdatedAt":
			bit, req.UpdatedAt = 1<<4, r.int64()
		default:
			r.bad = true
		}
		if seen&bit != 0 {
			r.bad = true
		}
		seen |= bit
		if r.bad {
			return 0, false
		}
	}
	if r.bad {
		return 0, false
	}
	return r.p, true
}

// mpReader reads the msgpack subset decodeAllocUpdateParams handles. Every
// read checks its bounds; the first thing outside the subset sets bad, and
// later reads return zero values.
type mpReader struct {
	b   []byte
	p   int
	bad bool
}

func (r *mpReader) byte1() byte {
	if r.bad || r.p >= len(r.b) {
		r.bad = true
		return 0
	}
	c := r.b[r.p]
	r.p++
	return c
}

// next returns the next n bytes.
func (r *mpReader) next(n int) []byte {
	if r.bad || n < 0 || n > len(r.b)-r.p {
		r.bad = true
		return nil
	}
	s := r.b[r.p : r.p+n]
	r.p += n
	return s
}

// length reads a big-endian length of size bytes.
func (r *mpReader) length(size int) int {
	s := r.next(size)
	var n int
	for _, c := range s {
		n = n<<8 | int(c)
	}
	// A count or length can never exceed the bytes left: each counted value
	// takes at least one byte. Checking here bounds every allocation.
	if n > len(r.b)-r.p {
		r.bad = true
		return 0
	}
	return n
}

// isNil consumes a nil if one is next.
func (r *mpReader) isNil() bool {
	if !r.bad && r.p < len(r.b) && r.b[r.p] == 0xc0 {
		r.p++
		return true
	}
	return false
}

func (r *mpReader) nilOnly() {
	if !r.isNil() {
		r.bad = true
	}
}

// arrayLen reads an array header; -1 (and bad) if there is none.
func (r *mpReader) arrayLen() int {
	c := r.byte1()
	switch {
	case c&0xf0 == 0x90:
		return int(c & 0x0f)
	case c == 0xdc:
		return r.length(2)
	case c == 0xdd:
		return r.length(4)
	}
	r.bad = true
	return -1
}

// mapLen reads a map header; 0 (and bad) if there is none.
func (r *mpReader) mapLen() int {
	c := r.byte1()
	switch {
	case c&0xf0 == 0x80:
		return int(c & 0x0f)
	case c == 0xde:
		return r.length(2)
	case c == 0xdf:
		return r.length(4)
	}
	r.bad = true
	return 0
}

// rawStr reads a str value's bytes (not nil, not bin). A switch on
// string(rawStr()) compares field names without copying them.
func (r *mpReader) rawStr() []byte {
	c := r.byte1()
	switch {
	case c&0xe0 == 0xa0:
		return r.next(int(c & 0x1f))
	case c == 0xd9:
		return r.next(r.length(1))
	case c == 0xda:
		return r.next(r.length(2))
	case c == 0xdb:
		return r.next(r.length(4))
	}
	r.bad = true
	return nil
}

// str reads a string field; nil is "".
func (r *mpReader) str() string {
	if r.isNil() {
		return ""
	}
	s := r.rawStr()
	if len(s) == 0 {
		return ""
	}
	return string(s)
}

// integer reads any msgpack integer as a sign and magnitude; nil is 0.
func (r *mpReader) integer() (neg bool, u uint64) {
	if r.isNil() {
		return false, 0
	}
	c := r.byte1()
	switch {
	case c <= 0x7f:
		return false, uint64(c)
	case c >= 0xe0:
		return true, uint64(-int64(int8(c)))
	case c >= 0xcc && c <= 0xcf: // uint8..uint64
		s := r.next(1 << (c - 0xcc))
		for _, x := range s {
			u = u<<8 | uint64(x)
		}
		return false, u
	case c >= 0xd0 && c <= 0xd3: // int8..int64
		s := r.next(1 << (c - 0xd0))
		var v uint64
		for _, x := range s {
			v = v<<8 | uint64(x)
		}
		if len(s) == 0 {
			return false, 0
		}
		bits := uint(len(s) * 8)
		i := int64(v<<(64-bits)) >> (64 - bits) // sign-extend
		if i < 0 {
			return true, uint64(-i)
		}
		return false, uint64(i)
	}
	r.bad = true
	return false, 0
}

func (r *mpReader) uint64() uint64 {
	neg, u := r.integer()
	if neg && u != 0 {
		r.bad = true
		return 0
	}
	return u
}

func (r *mpReader) int64() int64 {
	neg, u := r.integer()
	switch {
	case !neg && u <= 1<<63-1:
		return int64(u)
	case neg && u <= 1<<63:
		return -int64(u)
	}
	r.bad = true
	return 0
}

func (r *mpReader) boolean() bool {
	if r.isNil() {
		return false
	}
	switch r.byte1() {
	case 0xc2:
		return false
	case 0xc3:
		return true
	}
	r.bad = true
	return false
}

// time reads a time.Time as the handle writes it (TimeNotBuiltin: the
// MarshalBinary bytes as a str); nil is the zero time.
func (r *mpReader) time() time.Time {
	var t time.Time
	if r.isNil() {
		return t
	}
	s := r.rawStr()
	if r.bad {
		return t
	}
	if err := t.UnmarshalBinary(s); err != nil {
		r.bad = true
	}
	return t
}

func (r *mpReader) allocs() []*structs.Allocation {
	if r.isNil() {
		return nil
	}
	n := r.arrayLen()
	if n <= 0 {
		r.bad = true // the codec makes an empty, non-nil slice: leave it to it
		return nil
	}
	out := make([]*structs.Allocation, n)
	// One backing array for the call's allocs: one allocation, not n.
	backing := make([]structs.Allocation, n)
	for i := range out {
		out[i] = &backing[i]
		r.alloc(out[i])
		if r.bad {
			return nil
		}
	}
	return out
}

func (r *mpReader) alloc(a *structs.Allocation) {
	fields := r.mapLen()
	var seen uint32
	for range fields {
		var bit uint32
		switch string(r.rawStr()) {
		case "ID":
			bit, a.ID = 1<<0, r.str()
		case "Namespace":
			bit, a.Namespace = 1<<1, r.str()
		case "EvalID":
			bit, a.EvalID = 1<<2, r.str()
		case "Name":
			bit, a.Name = 1<<3, r.str()
		case "NodeID":
			bit, a.NodeID = 1<<4, r.str()
		case "JobID":
			bit, a.JobID = 1<<5, r.str()
		case "JobVersion":
			bit, a.JobVersion = 1<<6, r.uint64()
		case "TaskGroup":
			bit, a.TaskGroup = 1<<7, r.str()
		case "DesiredStatus":
			bit, a.DesiredStatus = 1<<8, r.str()
		case "DesiredDescription":
			bit, a.DesiredDescription = 1<<9, r.str()
		case "ClientStatus":
			bit, a.ClientStatus = 1<<10, r.str()
		case "ClientDescription":
			bit, a.ClientDescription = 1<<11, r.str()
		case "AllocStates":
			bit = 1 << 12
			r.nilOnly()
		case "PreviousAllocation":
			bit, a.PreviousAllocation = 1<<13, r.str()
		case "NextAllocation":
			bit, a.NextAllocation = 1<<14, r.str()
		case "FollowupEvalID":
			bit, a.FollowupEvalID = 1<<15, r.str()
		case "Metrics":
			bit = 1 << 16
			r.nilOnly()
		case "TaskStates":
			bit, a.TaskStates = 1<<17, r.taskStates()
		case "RescheduleTracker":
			bit = 1 << 18
			r.nilOnly()
		case "CreateIndex":
			bit, a.CreateIndex = 1<<19, r.uint64()
		case "ModifyIndex":
			bit, a.ModifyIndex = 1<<20, r.uint64()
		case "AllocModifyIndex":
			bit, a.AllocModifyIndex = 1<<21, r.uint64()
		case "CreateTime":
			bit, a.CreateTime = 1<<22, r.int64()
		case "ModifyTime":
			bit, a.ModifyTime = 1<<23, r.int64()
		default:
			r.bad = true
		}
		if seen&bit != 0 {
			r.bad = true
		}
		seen |= bit
		if r.bad {
			return
		}
	}
}

func (r *mpReader) taskStates() map[string]*structs.TaskState {
	if r.isNil() {
		return nil
	}
	n := r.mapLen()
	if r.bad {
		return nil
	}
	m := make(map[string]*structs.TaskState, n)
	for range n {
		k := string(r.rawStr())
		if r.bad || r.isNil() {
			// A nil task state, like a repeated name, the codec decodes
			// its own way: leave it to it.
			r.bad = true
			return nil
		}
		if _, dup := m[k]; dup {
			r.bad = true
			return nil
		}
		ts := &structs.TaskState{}
		r.taskState(ts)
		if r.bad {
			return nil
		}
		m[k] = ts
	}
	return m
}

func (r *mpReader) taskState(ts *structs.TaskState) {
	fields := r.mapLen()
	var seen uint8
	for range fields {
		var bit uint8
		switch string(r.rawStr()) {
		case "State":
			bit, ts.State = 1<<0, r.str()
		case "Failed":
			bit, ts.Failed = 1<<1, r.boolean()
		case "Restarts":
			bit, ts.Restarts = 1<<2, r.uint64()
		case "LastRestart":
			bit, ts.LastRestart = 1<<3, r.time()
		case "StartedAt":
			bit, ts.StartedAt = 1<<4, r.time()
		case "FinishedAt":
			bit, ts.FinishedAt = 1<<5, r.time()
		default:
			r.bad = true
		}
		if seen&bit != 0 {
			r.bad = true
		}
		seen |= bit
		if r.bad {
			return
		}
	}
}
