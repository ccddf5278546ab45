package nomad

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rejoinhq/rejoin/structs"
)

// Reader reads Nomad snapshots. The zero value is ready to use.
type Reader struct {
	// MaxStateBytes caps state.bin's size (DefaultMaxStateBytes when 0):
	// the stream is held in memory whole, so its declared lengths can be
	// checked against what is really there.
	MaxStateBytes int64
	// Progress, if set, is called every few thousand records and once at
	// the end.
	Progress func(Progress)
}

// ReadStateBin reads a bare state.bin stream with a zero Reader.
func ReadStateBin(r io.Reader) (*Import, error) { return (&Reader{}).ReadStateBin(r) }

func (rd *Reader) limit() int64 {
	if rd.MaxStateBytes > 0 {
		return rd.MaxStateBytes
	}
	return DefaultMaxStateBytes
}

// ReadStateBin reads a bare state.bin stream: an empty msgpack header, then
// records of one type byte and one msgpack value each, until EOF where a
// type byte would be. A stream ending inside a value is an error.
func (rd *Reader) ReadStateBin(r io.Reader) (*Import, error) {
	return rd.readStateBin(r, 0)
}

func (rd *Reader) readStateBin(r io.Reader, hint int64) (*Import, error) {
	buf, err := readCapped(r, rd.limit(), "state.bin", hint)
	if err != nil {
		return nil, err
	}
	return rd.decodeStateBin(buf)
}

// maxPrealloc bounds the buffer sized from a hint before any byte is read.
const maxPrealloc = 64 << 20

// readCapped reads all of r, failing once it passes limit bytes. hint, when
// positive, is the expected size: the buffer is sized once instead of
// doubling its way up (the doubling cost more than the decoding).
func readCapped(r io.Reader, limit int64, what string, hint int64) ([]byte, error) {
	if hint <= 0 {
		if l, ok := r.(interface{ Len() int }); ok {
			hint = int64(l.Len())
		}
	}
	var b bytes.Buffer
	if hint > 0 {
		// A declared size (a tar header's) is not trusted beyond
		// maxPrealloc: past it the buffer grows as bytes really arrive.
		b.Grow(int(min(hint, limit, maxPrealloc) + bytes.MinRead))
	}
	n, err := b.ReadFrom(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	if n > limit {
		return nil, &SizeError{What: what, Limit: limit}
	}
	return b.Bytes(), nil
}

// nomadAlloc is an alloc record. Nomad embeds the alloc's whole job; only
// its identity and Version are decoded here (every alloc carries one, and
// decoding them all dominated the import). A job whose record is missing
// is decoded in full later from one alloc's body.
type nomadAlloc struct {
	structs.Allocation
	Job *jobHead
}

// jobHead is the part of an alloc's embedded job read for every alloc.
type jobHead struct {
	ID        string
	Namespace string
	Version   uint64
}

func (h *jobHead) key() structs.NamespacedID {
	return (&structs.Job{ID: h.ID, Namespace: h.Namespace}).NamespacedID()
}

// allocJobBody is an alloc record decoded for its embedded job only.
type allocJobBody struct {
	Job *structs.Job
}

// allocJobRef remembers the alloc body carrying the newest copy of a job.
type allocJobRef struct {
	version uint64
	offset  int64 // the alloc record's offset in state.bin
	body    []byte
}

// nomadNode is a node record: Nomad says a node drains through a non-nil
// DrainStrategy (the Drain flag is gone from its recent versions).
type nomadNode struct {
	structs.Node
	// Only presence matters; the fields are skipped.
	DrainStrategy *drainStrategy
}

type drainStrategy struct{}

// indexRecord is an Index record: the latest raft index of one table.
type indexRecord struct {
	Key   string
	Value uint64
}

// decoder decodes records one at a time from a bounds-checked slice.
type decoder struct {
	dec *codec.Decoder
}

// decode decodes body into v. The codec's panics on hostile input come
// back as errors.
func (d *decoder) decode(body []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	d.dec.ResetBytes(body)
	return d.dec.Decode(v)
}

func (rd *Reader) decodeStateBin(buf []byte) (*Import, error) {
	im := &Import{Skipped: map[uint8]int{}}
	total := int64(len(buf))
	n, err := valueLen(buf)
	if err != nil {
		return nil, formatErr(0, -1, err)
	}
	if buf[0]&0xf0 != 0x80 && buf[0] != 0xde && buf[0] != 0xdf {
		return nil, &FormatError{Offset: 0, Type: -1, Kind: ErrMalformed,
			Err: fmt.Errorf("header is msgpack type byte 0x%02x, not a map", buf[0])}
	}
	pos := n
	d := &decoder{dec: codec.NewDecoderBytes(nil, structs.MsgpackHandle)}
	jobs := map[structs.NamespacedID]*structs.Job{}
	var allocJobs map[structs.NamespacedID]allocJobRef // from allocs, by highest Version
	for pos < len(buf) {
		start := int64(pos)
		t := buf[pos]
		n, err := valueLen(buf[pos+1:])
		if err != nil {
			return nil, formatErr(start, int(t), err)
		}
		body := buf[pos+1 : pos+1+n]
		pos += 1 + n
		im.Records++
		if err := rd.record(d, im, jobs, &allocJobs, t, start, body); err != nil {
			return nil, &FormatError{Offset: start, Type: int(t), Kind: ErrMalformed, Err: err}
		}
		if rd.Progress != nil && im.Records%progressEvery == 0 {
			rd.Progress(Progress{Records: im.Records, Offset: int64(pos), Total: total})
		}
	}
	if err := im.finishJobs(d, jobs, allocJobs); err != nil {
		return nil, err
	}
	if rd.Progress != nil {
		rd.Progress(Progress{Records: im.Records, Offset: total, Total: total})
	}
	return im, nil
}

func formatErr(off int64, t int, err error) *FormatError {
	kind := ErrMalformed
	if errors.Is(err, errShort) {
		kind = ErrTruncated
	}
	return &FormatError{Offset: off, Type: t, Kind: kind, Err: err}
}

// record decodes one record's body by type. Types rejoin does not model
// were already stepped over by valueLen; they are only counted.
func (rd *Reader) record(d *decoder, im *Import, jobs map[structs.NamespacedID]*structs.Job,
	allocJobs *map[structs.NamespacedID]allocJobRef, t uint8, offset int64, body []byte) error {
	switch RecordType(t) {
	case RecordNode:
		var n nomadNode
		if err := d.decode(body, &n); err != nil {
			return err
		}
		node := n.Node
		node.Drain = node.Drain || n.DrainStrategy != nil
		im.Nodes = append(im.Nodes, &node)
	case RecordJob:
		j := new(structs.Job)
		if err := d.decode(body, j); err != nil {
			return err
		}
		jobs[j.NamespacedID()] = j
	case RecordIndex:
		var ix indexRecord
		if err := d.decode(body, &ix); err != nil {
			return err
		}
		im.Index = max(im.Index, ix.Value)
	case RecordEval:
		e := new(structs.Evaluation)
		if err := d.decode(body, e); err != nil {
			return err
		}
		im.Evals = append(im.Evals, e)
	case RecordAlloc:
		var na nomadAlloc
		if err := d.decode(body, &na); err != nil {
			return err
		}
		a := na.Allocation
		if na.Job != nil {
			a.JobVersion = na.Job.Version
			if a.JobID == "" {
				a.JobID = na.Job.ID
			}
			if *allocJobs == nil {
				*allocJobs = map[structs.NamespacedID]allocJobRef{}
			}
			key := na.Job.key()
			if old, ok := (*allocJobs)[key]; !ok || na.Job.Version > old.version {
				(*allocJobs)[key] = allocJobRef{version: na.Job.Version, offset: offset, body: body}
			}
		}
		im.Allocs = append(im.Allocs, &a)
	default:
		im.Skipped[t]++
	}
	return nil
}

// finishJobs settles the job list: job records win; a job with no record
// is taken from its allocs (highest Version seen). Jobs of a type rejoin
// has no model for are dropped with their allocs, each with a note.
func (im *Import) finishJobs(d *decoder, jobs map[structs.NamespacedID]*structs.Job, allocJobs map[structs.NamespacedID]allocJobRef) error {
	for key, ref := range allocJobs {
		if _, ok := jobs[key]; ok {
			continue
		}
		var full allocJobBody
		if err := d.decode(ref.body, &full); err != nil || full.Job == nil {
			// The body decoded once already as an alloc; failing now
			// means the embedded job itself is malformed.
			return &FormatError{Offset: ref.offset, Type: int(RecordAlloc), Kind: ErrMalformed,
				Err: fmt.Errorf("job %s embedded in an alloc: %v", key, err)}
		}
		jobs[key] = full.Job
		im.Notes = append(im.Notes, fmt.Sprintf("job %s has no job record; using the version-%d copy carried by its allocations", key, full.Job.Version))
	}
	dropped := map[structs.NamespacedID]bool{}
	for key, j := range jobs {
		switch j.Type {
		case structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem:
			im.Jobs = append(im.Jobs, j)
		default:
			// sysbatch runs once per node to completion: neither the
			// count-based service/batch rules nor the keep-running system
			// rules describe it, so a guess would give wrong decisions.
			dropped[key] = true
			im.Notes = append(im.Notes, fmt.Sprintf("job %s skipped: type %q is not modelled by rejoin (service, batch, system)", key, j.Type))
		}
	}
	sort.Slice(im.Jobs, func(a, b int) bool {
		x, y := im.Jobs[a].NamespacedID(), im.Jobs[b].NamespacedID()
		if x.Namespace != y.Namespace {
			return x.Namespace < y.Namespace
		}
		return x.ID < y.ID
	})
	if len(dropped) > 0 {
		kept := im.Allocs[:0]
		skipped := map[structs.NamespacedID]int{}
		for _, a := range im.Allocs {
			key := allocJobKey(a)
			if dropped[key] {
				skipped[key]++
				continue
			}
			kept = append(kept, a)
		}
		clear(im.Allocs[len(kept):])
		im.Allocs = kept
		for key, n := range skipped {
			im.Notes = append(im.Notes, fmt.Sprintf("%d allocations of skipped job %s left out", n, key))
		}
	}
	sort.Strings(im.Notes)
	return nil
}

func allocJobKey(a *structs.Allocation) structs.NamespacedID {
	ns := a.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return structs.NamespacedID{Namespace: ns, ID: a.JobID}
}
