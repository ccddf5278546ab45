package nomad

import (
	"strconv"

	"github.com/rejoinhq/rejoin/structs"
)

// RecordType is the type byte in front of every state.bin record.
type RecordType uint8

// The record types rejoin reads; every other value is stepped over.
const (
	RecordNode  RecordType = 0
	RecordJob   RecordType = 1
	RecordIndex RecordType = 2
	RecordEval  RecordType = 3
	RecordAlloc RecordType = 4
)

// recordNames are Nomad's snapshot type names, for messages and Skipped.
var recordNames = map[uint8]string{
	0: "Node", 1: "Job", 2: "Index", 3: "Eval", 4: "Alloc", 5: "TimeTable",
	6: "PeriodicLaunch", 7: "JobSummary", 8: "VaultAccessor", 9: "JobVersion",
	10: "Deployment", 11: "ACLPolicy", 12: "ACLToken", 13: "SchedulerConfig",
	14: "ClusterMetadata", 15: "SITokenAccessor", 16: "ScalingPolicy",
	17: "CSIPlugin", 18: "CSIVolume", 19: "ScalingEvents", 20: "EventSink",
	21: "ServiceRegistration", 22: "Variables", 23: "VariablesQuota",
	24: "RootKeyMeta", 25: "ACLRole", 26: "ACLAuthMethod", 27: "ACLBindingRule",
	28: "NodePool", 29: "JobSubmission", 30: "RootKey", 31: "HostVolume",
	64: "Namespace",
}

// RecordTypeName returns Nomad's name for a record type byte.
func RecordTypeName(t uint8) string {
	if n, ok := recordNames[t]; ok {
		return n
	}
	return "Unknown(" + strconv.Itoa(int(t)) + ")"
}

// Import is what a Nomad FSM snapshot holds that rejoin needs. Slices keep
// the stream's order (Nomad writes each table sorted by ID).
type Import struct {
	Nodes  []*structs.Node
	Jobs   []*structs.Job
	Allocs []*structs.Allocation
	Evals  []*structs.Evaluation
	// Index is the highest raft index of any Index record.
	Index uint64
	// Meta is the archive's meta.json; nil for a bare state.bin.
	Meta *RaftMeta
	// Skipped counts the records stepped over, by type byte (including
	// JobVersion records: older job versions are not needed).
	Skipped map[uint8]int
	// Records is the number of records read (header excluded).
	Records int
	// Notes explain what was left out or adapted: jobs rejoin has no
	// model for (sysbatch and unknown types) and their allocations, jobs
	// taken from allocations because their record was missing.
	Notes []string
}

// RaftMeta is the archive's meta.json: the raft snapshot's metadata.
type RaftMeta struct {
	Version int
	ID      string
	Index   uint64
	Term    uint64
	Size    int64
}

// Progress is reported while a stream is read.
type Progress struct {
	// Records read so far.
	Records int
	// Offset is the byte offset in state.bin reached so far; Total its
	// length.
	Offset, Total int64
}

// DefaultMaxStateBytes caps the size of state.bin a Reader holds in memory.
const DefaultMaxStateBytes int64 = 1 << 30

// progressEvery is how many records pass between Progress calls.
const progressEvery = 4096
