package nomad

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerateFuzzCorpus rewrites the checked-in seed corpus when
// NOMAD_GEN_CORPUS=1; otherwise it checks the corpus is there.
func TestGenerateFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadStateBin")
	if os.Getenv("NOMAD_GEN_CORPUS") != "1" {
		ents, err := os.ReadDir(dir)
		if err != nil || len(ents) < 5 {
			t.Fatalf("seed corpus missing in %s (%v); regenerate with NOMAD_GEN_CORPUS=1", dir, err)
		}
		return
	}
	job := nomadJobRec("api", "service", 2)
	seeds := map[string][]byte{
		"fixture": mustRead(t, fixturePath(".state.bin")),
		"nomad-shaped": newStream(t).add(2, map[string]any{"Key": "allocs", "Value": 9}).add(0, nomadNodeRec("n1", "disconnected", true)).
			add(1, job).add(3, map[string]any{"ID": "e1", "JobID": "api"}).add(4, nomadAllocRec("a1", "n1", "unknown", job)).
			add(77, []any{1, "x", map[string]any{"k": nil}}).bytes(),
		"alloc-only":  newStream(t).add(4, nomadAllocRec("a1", "n1", "running", nomadJobRec("b", "batch", 0))).bytes(),
		"sysbatch":    newStream(t).add(1, nomadJobRec("s", "sysbatch", 0)).bytes(),
		"truncated":   newStream(t).add(0, nomadNodeRec("n1", "ready", false)).bytes()[:40],
		"huge-length": {0x80, 0x00, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"header-only": {0x80},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
