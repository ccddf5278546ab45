package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// TestScenarios runs every file in testdata/scenarios and compares the
// decisions with its Expect.
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.json"))
	must.NoError(t, err)
	must.SliceNotEmpty(t, files)
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			s, err := LoadScenario(f)
			must.NoError(t, err)
			if s.Expect == nil {
				t.Skipf("%s has no Expect", f)
			}
			got := Compute(s.Input)
			if d := Diff(s.Expect, got); d != "" {
				t.Fatalf("%s: %s\n%s", f, d, FormatTable(got))
			}
		})
	}
}

func TestScenarioDirHasEnough(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("testdata", "scenarios"))
	must.NoError(t, err)
	must.Greater(t, 17, len(entries))
}
