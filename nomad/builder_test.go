package nomad

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// streamBuilder writes a state.bin with Nomad's framing: an empty msgpack
// map header, then a type byte and one msgpack value per record.
type streamBuilder struct {
	t   *testing.T
	buf bytes.Buffer
}

func newStream(t *testing.T) *streamBuilder {
	s := &streamBuilder{t: t}
	s.buf.WriteByte(0x80)
	return s
}

func (s *streamBuilder) add(typ uint8, v any) *streamBuilder {
	s.t.Helper()
	b, err := structs.Marshal(v)
	must.NoError(s.t, err)
	s.buf.WriteByte(typ)
	s.buf.Write(b)
	return s
}

func (s *streamBuilder) bytes() []byte { return bytes.Clone(s.buf.Bytes()) }

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Nomad-shaped records: Nomad's field names, plus fields rejoin does not
// model (which must be ignored).
func nomadNodeRec(id, status string, draining bool) map[string]any {
	n := map[string]any{
		"ID": id, "Name": id, "Datacenter": "dc1", "Status": status,
		"SchedulingEligibility": "eligible", "StatusUpdatedAt": t0.Unix(),
		"Attributes":    map[string]any{"kernel.name": "linux", "cpu.numcores": "8"},
		"NodeResources": map[string]any{"Cpu": map[string]any{"CpuShares": 4000}, "Networks": []any{}},
		"Drivers":       map[string]any{"docker": map[string]any{"Healthy": true, "UpdateTime": t0}},
		"CreateIndex":   10, "ModifyIndex": 11,
	}
	if draining {
		n["DrainStrategy"] = map[string]any{"Deadline": int64(time.Hour), "ForceDeadline": t0.Add(time.Hour)}
	}
	return n
}

func nomadJobRec(id, typ string, version uint64) map[string]any {
	return map[string]any{
		"ID": id, "Namespace": "default", "Name": id, "Type": typ, "Version": version, "Priority": 50,
		"Region": "global", "Status": "running", "Update": map[string]any{"MaxParallel": 1, "Stagger": int64(30 * time.Second)},
		"SubmitTime": t0.UnixNano(), "Meta": map[string]string{"owner": "ops"},
		"TaskGroups": []any{map[string]any{
			"Name": "web", "Count": 2,
			"Tasks":      []any{map[string]any{"Name": "server", "Driver": "docker", "Config": map[string]any{"image": "nginx"}}},
			"Disconnect": map[string]any{"LostAfter": int64(2 * time.Minute), "Replace": false, "Reconcile": "keep_original", "StopOnClientAfter": nil},
			"ReschedulePolicy": map[string]any{"Attempts": 3, "Interval": int64(time.Hour), "Delay": int64(30 * time.Second),
				"DelayFunction": "exponential", "MaxDelay": int64(time.Hour), "Unlimited": false},
			"EphemeralDisk": map[string]any{"SizeMB": 300},
		}},
		"CreateIndex": 20, "ModifyIndex": 21, "JobModifyIndex": 20,
	}
}

func nomadAllocRec(id, nodeID, client string, job map[string]any) map[string]any {
	return map[string]any{
		"ID": id, "Namespace": "default", "EvalID": "e1", "Name": job["ID"].(string) + ".web[0]",
		"NodeID": nodeID, "JobID": job["ID"], "Job": job, "TaskGroup": "web",
		"DesiredStatus": "run", "ClientStatus": client,
		"AllocatedResources": map[string]any{"Tasks": map[string]any{"server": map[string]any{"Cpu": map[string]any{"CpuShares": 100}}}},
		"AllocStates": []any{
			map[string]any{"Field": 0, "Value": "unknown", "Time": t0},
		},
		"TaskStates": map[string]any{"server": map[string]any{
			"State": "running", "Restarts": 1, "LastRestart": t0.Add(-time.Minute), "StartedAt": t0.Add(-time.Hour),
			"Events": []any{map[string]any{"Type": "Started", "Time": t0.UnixNano()}},
		}},
		"Metrics":           map[string]any{"NodesEvaluated": 3, "ScoreMetaData": []any{map[string]any{"NodeID": nodeID, "NormScore": 0.75, "Scores": map[string]float64{"binpack": 0.5}}}},
		"RescheduleTracker": map[string]any{"Events": []any{map[string]any{"RescheduleTime": t0.UnixNano(), "PrevAllocID": "a0", "Delay": int64(time.Second)}}},
		"CreateIndex":       30, "ModifyIndex": 31, "AllocModifyIndex": 30,
		"CreateTime": t0.UnixNano(), "ModifyTime": t0.UnixNano(),
	}
}

func TestReadStateBin_NomadShapedRecordsAndSkipping(t *testing.T) {
	job := nomadJobRec("api", "service", 4)
	s := newStream(t).
		add(2, map[string]any{"Key": "nodes", "Value": 40}).
		add(2, map[string]any{"Key": "allocs", "Value": 77}).
		add(0, nomadNodeRec("n1", "ready", false)).
		add(0, nomadNodeRec("n2", "down", true)).
		add(28, map[string]any{"Name": "default", "Meta": map[string]any{"x": []any{1, "two", 3.0, nil, true}}}).
		add(1, job).
		add(9, nomadJobRec("api", "service", 3)).                   // older version: skipped
		add(99, []any{map[string]any{"Unknown": []byte{1, 2, 3}}}). // a type from the future
		add(3, map[string]any{"ID": "e1", "JobID": "api", "TriggeredBy": "max-disconnect-timeout", "Status": "pending",
			"WaitUntil": t0.Add(time.Minute), "SnapshotIndex": 5, "CreateTime": t0.UnixNano()}).
		add(4, nomadAllocRec("a1", "n1", "unknown", job)).
		add(64, map[string]any{"Name": "default", "Quota": ""})
	im, err := ReadStateBin(bytes.NewReader(s.bytes()))
	must.NoError(t, err)

	must.Eq(t, uint64(77), im.Index)
	must.Eq(t, 11, im.Records)
	must.Eq(t, map[uint8]int{28: 1, 9: 1, 99: 1, 64: 1}, im.Skipped)

	must.Len(t, 2, im.Nodes)
	must.Eq(t, structs.Node{ID: "n1", Name: "n1", Datacenter: "dc1", Status: "ready", SchedulingEligibility: "eligible",
		StatusUpdatedAt: t0.Unix(), CreateIndex: 10, ModifyIndex: 11}, *im.Nodes[0])
	must.True(t, im.Nodes[1].Drain, must.Sprint("a DrainStrategy means draining"))
	must.Eq(t, "down", im.Nodes[1].Status)

	must.Len(t, 1, im.Jobs)
	j := im.Jobs[0]
	must.Eq(t, uint64(4), j.Version)
	tg := j.TaskGroups[0]
	must.Eq(t, 2*time.Minute, tg.Disconnect.LostAfter)
	must.False(t, *tg.Disconnect.Replace)
	must.Eq(t, "keep_original", tg.Disconnect.Reconcile)
	must.Eq(t, structs.ReschedulePolicy{Attempts: 3, Interval: time.Hour, Delay: 30 * time.Second,
		DelayFunction: "exponential", MaxDelay: time.Hour}, *tg.ReschedulePolicy)

	must.Len(t, 1, im.Evals)
	must.Eq(t, t0.Add(time.Minute), im.Evals[0].WaitUntil.UTC())
	must.Eq(t, "max-disconnect-timeout", im.Evals[0].TriggeredBy)

	must.Len(t, 1, im.Allocs)
	a := im.Allocs[0]
	must.Eq(t, uint64(4), a.JobVersion, must.Sprint("JobVersion comes from the embedded Job.Version"))
	must.Eq(t, "unknown", a.ClientStatus)
	must.True(t, a.NeedsToReconnect())
	must.Eq(t, t0, a.LastUnknown().UTC())
	must.Eq(t, uint64(1), a.TaskStates["server"].Restarts)
	must.Eq(t, t0.Add(-time.Hour), a.TaskStates["server"].StartedAt.UTC())
	score, ok := a.Metrics.MaxNormScore()
	must.True(t, ok)
	must.Eq(t, 0.75, score)
	must.Eq(t, "a0", a.RescheduleTracker.Events[0].PrevAllocID)
}

func TestReadStateBin_JobFromAllocsWhenRecordMissing(t *testing.T) {
	v1, v2 := nomadJobRec("api", "batch", 1), nomadJobRec("api", "batch", 2)
	s := newStream(t).add(4, nomadAllocRec("a1", "n1", "running", v2)).add(4, nomadAllocRec("a2", "n1", "running", v1))
	im, err := ReadStateBin(bytes.NewReader(s.bytes()))
	must.NoError(t, err)
	must.Len(t, 1, im.Jobs)
	must.Eq(t, uint64(2), im.Jobs[0].Version, must.Sprint("the newest version carried by an alloc"))
	must.Eq(t, uint64(2), im.Allocs[0].JobVersion)
	must.Eq(t, uint64(1), im.Allocs[1].JobVersion)
	must.Len(t, 1, im.Notes)
	must.StrContains(t, im.Notes[0], "default/api has no job record")
}

func TestReadStateBin_JobRecordWinsOverAllocCopy(t *testing.T) {
	rec, old := nomadJobRec("api", "service", 7), nomadJobRec("api", "service", 6)
	s := newStream(t).add(1, rec).add(4, nomadAllocRec("a1", "n1", "running", old))
	im, err := ReadStateBin(bytes.NewReader(s.bytes()))
	must.NoError(t, err)
	must.Len(t, 1, im.Jobs)
	must.Eq(t, uint64(7), im.Jobs[0].Version)
	must.Eq(t, uint64(6), im.Allocs[0].JobVersion)
	must.SliceEmpty(t, im.Notes)
}

func TestReadStateBin_SysbatchSkippedWithNote(t *testing.T) {
	sb := nomadJobRec("cleanup", "sysbatch", 0)
	s := newStream(t).add(1, sb).add(1, nomadJobRec("api", "service", 0)).
		add(4, nomadAllocRec("a1", "n1", "complete", sb)).add(4, nomadAllocRec("a2", "n1", "running", nomadJobRec("api", "service", 0)))
	im, err := ReadStateBin(bytes.NewReader(s.bytes()))
	must.NoError(t, err)
	must.Len(t, 1, im.Jobs)
	must.Eq(t, "api", im.Jobs[0].ID)
	must.Len(t, 1, im.Allocs)
	must.Eq(t, "a2", im.Allocs[0].ID)
	must.Eq(t, []string{
		`1 allocations of skipped job default/cleanup left out`,
		`job default/cleanup skipped: type "sysbatch" is not modelled by rejoin (service, batch, system)`,
	}, im.Notes)
}

func TestReadStateBin_EmptyStreamHasOnlyHeader(t *testing.T) {
	im, err := ReadStateBin(bytes.NewReader([]byte{0x80}))
	must.NoError(t, err)
	must.Eq(t, 0, im.Records)
	must.SliceEmpty(t, im.Nodes)
}

func TestReadStateBin_Errors(t *testing.T) {
	good := newStream(t).add(0, nomadNodeRec("n1", "ready", false)).add(1, nomadJobRec("api", "service", 0)).bytes()
	cases := map[string]struct {
		in     []byte
		kind   error
		offset int64
	}{
		"empty":              {nil, ErrTruncated, 0},
		"header not a map":   {[]byte{0x91, 0x01}, ErrMalformed, 0},
		"truncated header":   {[]byte{0x81, 0xa1}, ErrTruncated, 0},
		"type byte only":     {[]byte{0x80, 0x00}, ErrTruncated, 1},
		"truncated value":    {good[:len(good)-3], ErrTruncated, int64(bytes.LastIndexByte(good[:40], 0) + 0)},
		"reserved byte":      {[]byte{0x80, 0x07, 0xc1}, ErrMalformed, 1},
		"4 GiB str declared": {[]byte{0x80, 0x07, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'}, ErrTruncated, 1},
		"4G-entry map":       {[]byte{0x80, 0x07, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x01}, ErrTruncated, 1},
		"node of wrong type": {append([]byte{0x80, 0x00}, mustMarshal(t, "not a node")...), ErrMalformed, 1},
		"alloc field type": {append([]byte{0x80, 0x04}, mustMarshal(t, map[string]any{"ID": "a", "AllocStates": "x"})...),
			ErrMalformed, 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			im, err := ReadStateBin(bytes.NewReader(tc.in))
			must.Nil(t, im)
			must.ErrorIs(t, err, tc.kind)
			must.ErrorIs(t, err, structs.ErrDecode)
			var fe *FormatError
			must.ErrorAs[*FormatError](t, err, &fe)
			if name != "truncated value" {
				must.Eq(t, tc.offset, fe.Offset)
			}
		})
	}
}

func TestReadStateBin_DeepNestingIsAnErrorNotACrash(t *testing.T) {
	in := []byte{0x80, 0x07}
	for range 100000 {
		in = append(in, 0x91) // array of one
	}
	in = append(in, 0x01)
	_, err := ReadStateBin(bytes.NewReader(in))
	must.ErrorIs(t, err, ErrMalformed)
	must.StrContains(t, err.Error(), "nested deeper")
}

func TestReadStateBin_SizeCap(t *testing.T) {
	in := newStream(t).add(0, nomadNodeRec("n1", "ready", false)).bytes()
	rd := &Reader{MaxStateBytes: int64(len(in) - 1)}
	_, err := rd.ReadStateBin(bytes.NewReader(in))
	must.ErrorIs(t, err, ErrTooLarge)
	rd.MaxStateBytes = int64(len(in))
	_, err = rd.ReadStateBin(bytes.NewReader(in))
	must.NoError(t, err)
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := structs.Marshal(v)
	must.NoError(t, err)
	return b
}

// --- archives ----------------------------------------------------------------

type member struct {
	name string
	body []byte
}

func buildArchive(t *testing.T, members ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		must.NoError(t, tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o600, Size: int64(len(m.body))}))
		_, err := tw.Write(m.body)
		must.NoError(t, err)
	}
	must.NoError(t, tw.Close())
	must.NoError(t, zw.Close())
	return buf.Bytes()
}

func sumsFor(ms ...member) member {
	var b bytes.Buffer
	for _, m := range ms {
		fmt.Fprintf(&b, "%x  %s\n", sha256.Sum256(m.body), m.name)
	}
	return member{"SHA256SUMS", b.Bytes()}
}

func TestReadArchive_Verification(t *testing.T) {
	state := member{"state.bin", newStream(t).add(0, nomadNodeRec("n1", "ready", false)).bytes()}
	meta := member{"meta.json", []byte(`{"Version":1,"ID":"x","Index":9,"Term":3}`)}
	tampered := member{"state.bin", append(bytes.Clone(state.body[:len(state.body)-1]), 'X')}

	im, err := ReadArchive(bytes.NewReader(buildArchive(t, meta, state, sumsFor(meta, state))))
	must.NoError(t, err)
	must.Eq(t, RaftMeta{Version: 1, ID: "x", Index: 9, Term: 3}, *im.Meta)
	must.Len(t, 1, im.Nodes)

	cases := map[string]struct {
		in     []byte
		kind   error
		member string
	}{
		"state sum mismatch":  {buildArchive(t, meta, tampered, sumsFor(meta, state)), ErrChecksum, "state.bin"},
		"meta sum mismatch":   {buildArchive(t, member{"meta.json", []byte(`{}`)}, state, sumsFor(meta, state)), ErrChecksum, "meta.json"},
		"no state.bin":        {buildArchive(t, meta, sumsFor(meta)), ErrMissingMember, "state.bin"},
		"no SHA256SUMS":       {buildArchive(t, meta, state), ErrMissingMember, "SHA256SUMS"},
		"state sum not given": {buildArchive(t, meta, state, sumsFor(meta)), ErrMissingMember, "state.bin"},
		"bad sums line":       {buildArchive(t, meta, state, member{"SHA256SUMS", []byte("zz  state.bin\n")}), ErrBadArchive, "SHA256SUMS"},
		"not gzip":            {[]byte("plain text"), ErrBadArchive, ""},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			im, err := ReadArchive(bytes.NewReader(tc.in))
			must.Nil(t, im)
			must.ErrorIs(t, err, tc.kind)
			must.ErrorIs(t, err, ErrBadArchive)
			var ae *ArchiveError
			must.ErrorAs[*ArchiveError](t, err, &ae)
			must.Eq(t, tc.member, ae.Member)
		})
	}

	// A verified archive whose state.bin is itself broken fails as a format error.
	broken := member{"state.bin", []byte{0x80, 0x04}}
	_, err = ReadArchive(bytes.NewReader(buildArchive(t, meta, broken, sumsFor(meta, broken))))
	must.ErrorIs(t, err, ErrTruncated)
}

func TestReadStateBin_MalformedJobInsideAllocWithoutJobRecord(t *testing.T) {
	job := nomadJobRec("api", "service", 1)
	job["TaskGroups"] = "not a list"
	s := newStream(t).add(4, nomadAllocRec("a1", "n1", "running", job))
	im, err := ReadStateBin(bytes.NewReader(s.bytes()))
	must.Nil(t, im)
	must.ErrorIs(t, err, ErrMalformed)
	must.StrContains(t, err.Error(), "job default/api embedded in an alloc")
	var fe *FormatError
	must.ErrorAs[*FormatError](t, err, &fe)
	must.Eq(t, int64(1), fe.Offset)

	// With the job record present the embedded copy is never decoded in
	// full, so the same alloc reads.
	s = newStream(t).add(1, nomadJobRec("api", "service", 1)).add(4, nomadAllocRec("a1", "n1", "running", job))
	im, err = ReadStateBin(bytes.NewReader(s.bytes()))
	must.NoError(t, err)
	must.Eq(t, uint64(1), im.Allocs[0].JobVersion)
}
