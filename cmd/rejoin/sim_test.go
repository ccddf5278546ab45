package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

var smallSim = []string{"sim", "--nodes", "8", "--jobs", "3", "--duration", "12m"}

// runCLI runs the whole command line (unlike replay's runArgs, which adds
// "replay").
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func simArgs(extra ...string) []string { return append(append([]string{}, smallSim...), extra...) }

func TestSim_SummaryAndPass(t *testing.T) {
	code, stdout, stderr := runCLI(simArgs("--seed", "3")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	for _, want := range []string{"seed 3: 8 nodes, 3 jobs", "Nodes", "reconnected", "Allocations",
		"Decisions by rule", "Invariants (I1-I8)", "checks passed", "simulated in", "RESULT: PASS"} {
		must.StrContains(t, stdout, want)
	}
}

func TestSim_JSONIsDeterministic(t *testing.T) {
	code, out1, stderr := runCLI(simArgs("--seed", "5", "--json")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	var s1, s2 simSummary
	must.NoError(t, json.Unmarshal([]byte(out1), &s1))
	must.Eq(t, "pass", s1.Result)
	must.Eq(t, uint64(5), s1.Seed)
	must.SliceEmpty(t, s1.Violations)
	must.Positive(t, s1.Checks)
	must.SliceNotEmpty(t, s1.Trace)
	_, out2, _ := runCLI(simArgs("--seed", "5", "--json")...)
	must.NoError(t, json.Unmarshal([]byte(out2), &s2))
	must.Eq(t, s1.TraceHash, s2.TraceHash)
}

func TestSim_ManySeeds(t *testing.T) {
	code, stdout, stderr := runCLI(simArgs("--seed", "10", "--seeds", "4", "--json")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	var sum seedsSummary
	must.NoError(t, json.Unmarshal([]byte(stdout), &sum))
	must.Eq(t, 4, sum.Seeds)
	must.Eq(t, uint64(10), sum.From)
	must.SliceEmpty(t, sum.Failed)
	must.Eq(t, "pass", sum.Result)
}

func TestSim_TimelineAndRecord(t *testing.T) {
	dir := t.TempDir()
	html := filepath.Join(dir, "tl.html")
	rec := filepath.Join(dir, "rec")
	code, stdout, stderr := runCLI(simArgs("--timeline", html, "--record", rec, "--json")...)
	must.Eq(t, 0, code, must.Sprint(stderr))
	var sum simSummary
	must.NoError(t, json.Unmarshal([]byte(stdout), &sum))

	page, err := os.ReadFile(html)
	must.NoError(t, err)
	must.StrContains(t, string(page), "<svg")
	must.StrContains(t, string(page), "node-000")
	must.StrNotContains(t, string(page), "http://") // no external assets...
	must.StrNotContains(t, string(page), "<script") // ...and no scripts

	// The command log replays into an empty store: same number of
	// commands, and the store ends where the simulation's did.
	f, err := os.Open(filepath.Join(rec, "commands.log"))
	must.NoError(t, err)
	defer f.Close()
	store, err := state.NewStore(nil)
	must.NoError(t, err)
	r := bufio.NewReader(f)
	table := crc32.MakeTable(crc32.Castagnoli)
	n := 0
	for {
		var hdr [13]byte
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			break
		} else {
			must.NoError(t, err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[9:13]))
		_, err := io.ReadFull(r, payload)
		must.NoError(t, err)
		var tail [4]byte
		_, err = io.ReadFull(r, tail[:])
		must.NoError(t, err)
		crc := crc32.Update(crc32.Update(0, table, hdr[:]), table, payload)
		must.Eq(t, crc, binary.BigEndian.Uint32(tail[:]))
		_, err = store.Apply(binary.BigEndian.Uint64(hdr[0:8]), structs.MessageType(hdr[8]), payload)
		must.NoError(t, err)
		n++
	}
	must.Eq(t, sum.Stats.Commands, n)
	nodes, err := store.Nodes(nil)
	must.NoError(t, err)
	must.Len(t, 8, nodes)
	for _, name := range []string{"README.txt", "summary.json"} {
		_, err := os.Stat(filepath.Join(rec, name))
		must.NoError(t, err)
	}
}

func TestSim_BadFlagsExit2(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--nodes", "0"},
		{"sim", "--duration", "-1s"},
		{"sim", "--partition-fraction", "2"},
		{"sim", "--seeds", "2", "--timeline", "x.html"},
		{"sim", "--bogus"},
		{"sim", "extra"},
	} {
		code, stdout, stderr := runCLI(args...)
		must.Eq(t, 2, code, must.Sprint(args))
		must.Eq(t, "", stdout)
		must.True(t, strings.TrimSpace(stderr) != "")
	}
}
