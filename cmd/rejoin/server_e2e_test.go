package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/structs"
)

// binDir holds the rejoin binary the end-to-end tests run, built once.
var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	flag.Parse()
	var err error
	if binDir, err = os.MkdirTemp("", "rejoin-e2e-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(binDir)
	os.Exit(code)
}

// rejoinBinary builds the command once (go build -o) for the tests that
// run it as a subprocess.
func rejoinBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binPath = filepath.Join(binDir, "rejoin")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	must.NoError(t, binError)
	return binPath
}

// serverProc is `rejoin server` running as a subprocess.
type serverProc struct {
	cmd        *exec.Cmd
	addr       string
	metricsURL string
	stderr     *lockedBuffer
	done       chan error
}

type lockedBuffer struct {
	mu sync.Mutex // protects b
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startServer starts `rejoin server args...` and waits (bounded) for the
// banner's RPC address.
func startServer(t *testing.T, args ...string) *serverProc {
	t.Helper()
	p := &serverProc{stderr: &lockedBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(rejoinBinary(t), append([]string{"server"}, args...)...)
	p.cmd.Stderr = p.stderr
	out, err := p.cmd.StdoutPipe()
	must.NoError(t, err)
	must.NoError(t, p.cmd.Start())
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.done <- p.cmd.Wait()
	}()
	deadline := time.After(20 * time.Second)
	for p.addr == "" || (p.metricsURL == "" && strings.Contains(strings.Join(args, " "), "--metrics-addr")) {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("server exited before printing its address; stderr:\n%s", p.stderr.String())
			}
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "RPC" && f[1] == "address:" {
				p.addr = f[2]
			}
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Metrics:" {
				p.metricsURL = f[1]
			}
		case <-deadline:
			p.cmd.Process.Kill()
			t.Fatalf("no RPC address within 20s; stderr:\n%s", p.stderr.String())
		}
	}
	go func() {
		for range lines { // drain the rest
		}
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
		}
	})
	return p
}

// terminate sends SIGTERM and returns the exit status (bounded wait).
func (p *serverProc) terminate(t *testing.T) int {
	t.Helper()
	must.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("server did not exit within 30s of SIGTERM; stderr:\n%s", p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// cli runs the rejoin binary and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(rejoinBinary(t), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errb.String(), cmd.ProcessState.ExitCode()
}

// cliJSON runs an operator command with --json and decodes its output.
func cliJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errs, code := cli(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, errs)
	}
	must.NoError(t, json.Unmarshal([]byte(out), v))
}

// eventually polls cond until it holds or the deadline passes; real time
// is unavoidable against a subprocess, so it polls rather than assumes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// simClient is a node talking to the server over TCP: it heartbeats,
// pulls its allocations and reports the ones it should run as running.
// Cut makes it go silent (a partition); Heal brings it back.
type simClient struct {
	id, secret string
	c          *rpc.Client
	cut        atomic.Bool
	stop       chan struct{}
	wg         sync.WaitGroup
	errs       atomic.Int64
}

func newSimClient(t *testing.T, addr, id string) *simClient {
	c, err := rpc.NewClient(rpc.ClientConfig{Addr: addr, Timeout: 5 * time.Second})
	must.NoError(t, err)
	s := &simClient{id: id, secret: "secret-" + id, c: c, stop: make(chan struct{})}
	var resp structs.NodeUpdateResponse
	must.NoError(t, c.Register(&structs.NodeRegisterRequest{Node: &structs.Node{
		ID: id, SecretID: s.secret, Name: id, Datacenter: "dc1", SchedulingEligibility: structs.NodeSchedulingEligible,
	}}, &resp))
	s.wg.Add(1)
	go s.loop()
	return s
}

func (s *simClient) loop() {
	defer s.wg.Done()
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-tick.C:
		}
		if s.cut.Load() {
			continue
		}
		var hb structs.NodeUpdateResponse
		if err := s.c.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: s.id, SecretID: s.secret, Status: structs.NodeStatusReady}, &hb); err != nil {
			s.errs.Add(1)
			continue
		}
		s.report()
	}
}

// report tells the server every alloc it wants running here is running.
func (s *simClient) report() {
	var list structs.NodeClientAllocsResponse
	if err := s.c.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: s.id, SecretID: s.secret,
		QueryOptions: structs.QueryOptions{MaxQueryTime: time.Millisecond}}, &list); err != nil {
		s.errs.Add(1)
		return
	}
	var update []*structs.Allocation
	for id := range list.Allocs {
		var info rpc.AllocInfo
		if err := s.c.AllocGet(&rpc.AllocGetRequest{AllocID: id}, &info); err != nil {
			continue
		}
		a := info.Alloc
		if a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus != structs.AllocClientStatusRunning {
			update = append(update, &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusRunning})
		}
	}
	if len(update) > 0 {
		var resp structs.AllocUpdateResponse
		if err := s.c.UpdateAlloc(&structs.AllocUpdateRequest{NodeID: s.id, SecretID: s.secret, Alloc: update}, &resp); err != nil {
			s.errs.Add(1)
		}
	}
}

func (s *simClient) close() {
	close(s.stop)
	s.wg.Wait()
	s.c.Close()
}

func allocInfo(t *testing.T, addr, id string) rpc.AllocInfo {
	var info rpc.AllocInfo
	cliJSON(t, &info, "alloc", "status", id, "--address", addr)
	return info
}

func clientStatuses(a *structs.Allocation) []string {
	var out []string
	for _, s := range a.AllocStates {
		out = append(out, s.Value)
	}
	return out
}

// TestE2E_ReconnectOverTCPAndRestart: a dev server as a subprocess, a job
// with a disconnect block submitted with `rejoin job run`, two clients
// over TCP; one is cut off past its TTL and healed. The original
// reconnects (AllocStates unknown then running) and its replacement is
// stopped, as `rejoin alloc status --json` shows. SIGTERM exits 0, and a
// restart from the data dir has the identical state.
func TestE2E_ReconnectOverTCPAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: starts the server as a subprocess")
	}
	dataDir := t.TempDir()
	srv := startServer(t, "--dev", "--data-dir", dataDir, "--metrics-addr", "127.0.0.1:0", "--log-level", "warn")
	addr := srv.addr

	n1 := newSimClient(t, addr, "n1")
	n2 := newSimClient(t, addr, "n2")
	defer n2.close()
	closeN1 := sync.OnceFunc(n1.close)
	defer closeN1()
	eventually(t, 10*time.Second, "both nodes ready", func() bool {
		var list rpc.NodeListResponse
		cliJSON(t, &list, "node", "status", "--address", addr)
		ready := 0
		for _, n := range list.Nodes {
			if n.Node.Status == structs.NodeStatusReady {
				ready++
			}
		}
		return ready == 2
	})

	jobFile := filepath.Join(t.TempDir(), "web.json")
	must.NoError(t, os.WriteFile(jobFile, []byte(`{
  "ID": "web", "Type": "service",
  "TaskGroups": [{"Name": "web", "Count": 1,
    "Disconnect": {"LostAfter": "30s", "Reconcile": "keep_original"}}]
}`), 0o600))
	out, errs, code := cli(t, "job", "run", jobFile, "--address", addr)
	must.Eq(t, 0, code, must.Sprint(errs))
	must.StrContains(t, out, `Job "web" registered`)

	var orig string
	eventually(t, 10*time.Second, "the alloc running on n1", func() bool {
		var st rpc.JobStatusResponse
		cliJSON(t, &st, "job", "status", "web", "--address", addr)
		for _, a := range st.Allocs {
			if a.NodeID == "n1" && a.ClientStatus == structs.AllocClientStatusRunning {
				orig = a.ID
				return true
			}
		}
		return false
	})

	// Cut n1 off past its TTL (2s..4s + 1s grace in dev mode).
	n1.cut.Store(true)
	var repl string
	eventually(t, 20*time.Second, "the original unknown and a replacement running on n2", func() bool {
		info := allocInfo(t, addr, orig)
		if info.Alloc.ClientStatus != structs.AllocClientStatusUnknown || info.Alloc.NextAllocation == "" {
			return false
		}
		repl = info.Alloc.NextAllocation
		r := allocInfo(t, addr, repl)
		return r.Alloc.NodeID == "n2" && r.Alloc.ClientStatus == structs.AllocClientStatusRunning
	})
	var node rpc.NodeInfo
	cliJSON(t, &node, "node", "status", "n1", "--address", addr)
	must.Eq(t, structs.NodeStatusDisconnected, node.Node.Status)
	must.Eq(t, 1, node.AllocsByStatus[structs.AllocClientStatusUnknown])

	// Heal: the client heartbeats, then reports its alloc running.
	n1.cut.Store(false)
	eventually(t, 15*time.Second, "the original reconnected and the replacement stopped", func() bool {
		a := allocInfo(t, addr, orig).Alloc
		r := allocInfo(t, addr, repl).Alloc
		return a.ClientStatus == structs.AllocClientStatusRunning && a.DesiredStatus == structs.AllocDesiredStatusRun &&
			r.DesiredStatus == structs.AllocDesiredStatusStop
	})
	info := allocInfo(t, addr, orig)
	states := clientStatuses(info.Alloc)
	must.SliceContainsAll(t, []string{"unknown", "running"}, states[len(states)-2:])
	must.Eq(t, []string{"unknown", "running"}, states[len(states)-2:])
	must.NotNil(t, info.LastDecision)
	must.Eq(t, "reconnect", info.LastDecision.Kind)
	must.Len(t, 2, info.Chain)
	must.Eq(t, orig, info.Chain[0].ID)
	must.Eq(t, repl, info.Chain[1].ID)
	r := allocInfo(t, addr, repl)
	must.Eq(t, structs.AllocReconnected, r.Alloc.DesiredDescription)

	// The human table says the same.
	out, _, code = cli(t, "alloc", "status", orig, "--address", addr)
	must.Eq(t, 0, code)
	must.RegexMatch(t, regexp.MustCompile(`Last decision += reconnect`), out)

	// The Prometheus endpoint shows the story.
	resp, err := http.Get(srv.metricsURL)
	must.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`rejoin_reconcile_decisions{kind="reconnect",rule="row_9"} 1`,
		`rejoin_reconcile_decisions{kind="disconnect",rule="row_7"} 1`,
		`rejoin_heartbeat_expired`, `rejoin_heartbeat_reset`, `rejoin_rpc_alloc_update_accepted`,
	} {
		must.StrContains(t, string(body), want)
	}

	// Quiet (no pending evaluation, the state stops changing while the
	// clients keep heartbeating: plain heartbeats write nothing), then
	// SIGTERM and restart.
	var before rpc.ServerStatusResponse
	eventually(t, 10*time.Second, "a quiet state", func() bool {
		var a, b rpc.ServerStatusResponse
		cliJSON(t, &a, "server", "status", "--address", addr)
		cliJSON(t, &b, "server", "status", "--address", addr)
		before = b
		return a.PendingEvals == 0 && a.StateHash == b.StateHash
	})
	must.Eq(t, 0, srv.terminate(t), must.Sprint(srv.stderr.String()))
	closeN1()

	again := startServer(t, "--dev", "--data-dir", dataDir, "--log-level", "warn")
	var after rpc.ServerStatusResponse
	cliJSON(t, &after, "server", "status", "--address", again.addr)
	must.Eq(t, before.StateHash, after.StateHash)
	must.Eq(t, before.LatestIndex, after.LatestIndex)
	must.Eq(t, before.Allocs, after.Allocs)
	must.Eq(t, 0, again.terminate(t), must.Sprint(again.stderr.String()))
}
