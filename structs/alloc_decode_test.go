package structs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/shoenig/test/must"
)

// decodeAllocSamples are allocations of every shape the fast decoder
// reads: every field set, empty lists and maps, nil members, local and
// zoned times, negative and large numbers.
func decodeAllocSamples() []*Allocation {
	full := fullAlloc()
	empty := &Allocation{AllocStates: []*AllocState{}, TaskStates: map[string]*TaskState{},
		Metrics: &AllocMetric{ScoreMetaData: []*NodeScoreMeta{}}, RescheduleTracker: &RescheduleTracker{}}
	zoned := fullAlloc()
	zoned.AllocStates[0].Time = time.Date(2026, 3, 4, 5, 6, 7, 8, time.FixedZone("x", 3600))
	zoned.CreateTime, zoned.ModifyTime = -1, -1<<40
	zoned.JobVersion, zoned.CreateIndex = 1<<63+5, 300
	zoned.RescheduleTracker.Events[0].Delay = -time.Hour
	zoned.Metrics.ScoreMetaData[0].Scores = nil
	zoned.TaskStates["web"].LastRestart = time.Time{}
	long := fullAlloc()
	long.Name = string(make([]byte, 70000)) // str32
	long.ID = string(make([]byte, 300))     // str16
	return []*Allocation{full, empty, zoned, long, {}, {ID: "x"}}
}

// decodeBoth decodes b with DecodeAllocation and the reflective codec and
// fails unless they agree.
func decodeBoth(t *testing.T, b []byte) *Allocation {
	t.Helper()
	got, err := DecodeAllocation(b)
	want := new(Allocation)
	wantErr := Unmarshal(b, want)
	if wantErr != nil {
		must.Error(t, err)
		must.EqError(t, err, wantErr.Error())
		return nil
	}
	must.NoError(t, err)
	if !reflect.DeepEqual(got, want) && !sameEncoding(t, got, want) {
		t.Fatalf("DecodeAllocation differs from the codec:\n got %#v\nwant %#v", got, want)
	}
	// A decoder that has seen the same strings before gives the same.
	var ad AllocationDecoder
	_, err = ad.Decode(b)
	must.NoError(t, err)
	again, err := ad.Decode(b)
	must.NoError(t, err)
	if !reflect.DeepEqual(again, want) && !sameEncoding(t, again, want) {
		t.Fatalf("AllocationDecoder differs from the codec:\n got %#v\nwant %#v", again, want)
	}
	return got
}

// One AllocationDecoder keeps one copy of a repeated node ID, and stops
// adding strings at its bound.
func TestAllocationDecoder_SharesRepeatedStrings(t *testing.T) {
	var ad AllocationDecoder
	enc := func(id, node string) []byte {
		b, err := Marshal(&Allocation{ID: id, NodeID: node, JobID: "web"})
		must.NoError(t, err)
		return b
	}
	a1, err := ad.Decode(enc("a1", "node-1"))
	must.NoError(t, err)
	a2, err := ad.Decode(enc("a2", "node-1"))
	must.NoError(t, err)
	must.Eq(t, "node-1", a2.NodeID)
	must.True(t, unsafe.StringData(a1.NodeID) == unsafe.StringData(a2.NodeID))
	must.False(t, unsafe.StringData(a1.ID) == unsafe.StringData(a2.ID)) // IDs are not shared

	for i := range maxSharedStrings + 10 {
		_, err := ad.Decode(enc("a", fmt.Sprintf("n%d", i)))
		must.NoError(t, err)
	}
	must.Eq(t, maxSharedStrings, len(ad.strs))
	a3, err := ad.Decode(enc("a3", "n-new"))
	must.NoError(t, err)
	must.Eq(t, "n-new", a3.NodeID)
}

// sameEncoding compares by canonical encoding, which keeps every
// distinction DeepEqual makes here (nil or empty, pointer or nil) but also
// equates two NaN scores with the same bits.
func sameEncoding(t *testing.T, a, b *Allocation) bool {
	t.Helper()
	ea, err := MarshalCanonical(a)
	must.NoError(t, err)
	eb, err := MarshalCanonical(b)
	must.NoError(t, err)
	return bytes.Equal(ea, eb)
}

func TestDecodeAllocation_MatchesCodecOnBothHandles(t *testing.T) {
	for i, a := range decodeAllocSamples() {
		for _, h := range []*codec.MsgpackHandle{MsgpackHandle, CanonicalMsgpackHandle} {
			var b []byte
			must.NoError(t, codec.NewEncoderBytes(&b, h).Encode(a))
			got := decodeBoth(t, b)
			must.Eq(t, a.ID, got.ID, must.Sprintf("sample %d", i))
			// The encoder's own output takes the fast path, not the fallback.
			d := fastDecoder{b: b}
			d.allocation()
			must.False(t, d.bad, must.Sprintf("sample %d fell back", i))
		}
	}
}

// Shapes the fast path does not read fall back to the codec: its result or
// its error.
func TestDecodeAllocation_FallsBackOnOtherShapes(t *testing.T) {
	enc := func(v any) []byte {
		b, err := Marshal(v)
		must.NoError(t, err)
		return b
	}
	cases := map[string][]byte{
		"unknown field":  enc(map[string]any{"ID": "a", "Extra": 1}),
		"repeated field": {0x82, 0xa2, 'I', 'D', 0xa1, 'a', 0xa2, 'I', 'D', 0xa1, 'b'},
		"struct array":   enc([]any{"a", "ns"}),
		"nil record":     {0xc0},
		"signed uint":    {0x81, 0xab, 'C', 'r', 'e', 'a', 't', 'e', 'I', 'n', 'd', 'e', 'x', 0xd0, 0x05},
		"negative uint":  {0x81, 0xab, 'C', 'r', 'e', 'a', 't', 'e', 'I', 'n', 'd', 'e', 'x', 0xff},
		"nil list item":  enc(map[string]any{"AllocStates": []any{nil}}),
		"bad time":       enc(map[string]any{"TaskStates": map[string]any{"t": map[string]any{"StartedAt": "x"}}}),
		"float32 score":  {0x81, 0xa7, 'M', 'e', 't', 'r', 'i', 'c', 's', 0x81, 0xad, 'S', 'c', 'o', 'r', 'e', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 0x91, 0x81, 0xa9, 'N', 'o', 'r', 'm', 'S', 'c', 'o', 'r', 'e', 0xca, 0x3f, 0x80, 0, 0},
		"repeated key":   {0x81, 0xaa, 'T', 'a', 's', 'k', 'S', 't', 'a', 't', 'e', 's', 0x82, 0xa1, 't', 0x80, 0xa1, 't', 0x80},
		"field overflow": enc(map[string]any{"AllocStates": []any{map[string]any{"Field": 300}}}),
		"truncated":      enc(fullAlloc())[:40],
		"not msgpack":    {0xc1},
		"empty":          {},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			d := fastDecoder{b: b}
			d.allocation()
			must.True(t, d.bad)
			decodeBoth(t, b)
		})
	}
}

// Nomad's own alloc records carry many fields rejoin does not model: they
// take the fallback and decode as the codec decodes them.
func TestDecodeAllocation_NomadFixtureRecords(t *testing.T) {
	const dir = "../../shared/fixtures/nomad/"
	bin, err := os.ReadFile(dir + "f1-01-disconnect-lost-after-default-replace.state.bin")
	if os.IsNotExist(err) {
		t.Skip("no Nomad fixture")
	}
	must.NoError(t, err)
	raw, err := os.ReadFile(dir + "f1-01-disconnect-lost-after-default-replace.records.json")
	must.NoError(t, err)
	var idx struct {
		Records []struct {
			Type   int `json:"type_byte"`
			Offset int `json:"msgpack_body_offset"`
			Length int `json:"msgpack_body_length"`
		}
	}
	must.NoError(t, json.Unmarshal(raw, &idx))
	n := 0
	for _, r := range idx.Records {
		if r.Type != 4 {
			continue
		}
		a := decodeBoth(t, bin[r.Offset:r.Offset+r.Length])
		must.NotEq(t, "", a.ID)
		must.Eq(t, "example", a.JobID)
		n++
	}
	must.Eq(t, 3, n)
}

// FuzzDecodeAllocation: on any input, DecodeAllocation and the reflective
// codec agree (value, or error), and neither panics.
func FuzzDecodeAllocation(f *testing.F) {
	for _, a := range decodeAllocSamples()[:3] {
		for _, h := range []*codec.MsgpackHandle{MsgpackHandle, CanonicalMsgpackHandle} {
			var b []byte
			if err := codec.NewEncoderBytes(&b, h).Encode(a); err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		decodeBoth(t, b)
	})
}
