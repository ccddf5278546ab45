package nomad

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/rejoinhq/rejoin/structs"
)

// FuzzReadStateBin: any input either reads or fails with a typed error
// (no panic, no partial import), and reading is deterministic. The seed
// corpus in testdata/fuzz/FuzzReadStateBin holds the real fixture and
// small Nomad-shaped streams.
func FuzzReadStateBin(f *testing.F) {
	if b, err := os.ReadFile(fixturePath(".state.bin")); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x80})
	f.Add([]byte{0x80, 0x02, 0x82, 0xa3, 'K', 'e', 'y', 0xa1, 'x', 0xa5, 'V', 'a', 'l', 'u', 'e', 0x07})
	f.Fuzz(func(t *testing.T, in []byte) {
		rd := &Reader{MaxStateBytes: 1 << 20}
		im, err := rd.ReadStateBin(bytes.NewReader(in))
		if err != nil {
			if im != nil {
				t.Fatalf("error %v with a partial import", err)
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, structs.ErrDecode) {
				t.Fatalf("format error does not match ErrDecode: %v", err)
			}
			return
		}
		if im.Records < len(im.Nodes)+len(im.Allocs)+len(im.Evals) {
			t.Fatalf("%d records but %d objects", im.Records, len(im.Nodes)+len(im.Allocs)+len(im.Evals))
		}
		again, err := rd.ReadStateBin(bytes.NewReader(in))
		if err != nil || again.Records != im.Records || len(again.Allocs) != len(im.Allocs) || again.Index != im.Index {
			t.Fatalf("second read differs: %v", err)
		}
	})
}
