package rejoin_test

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/cmdlog"
	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/metrics"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// story is the reconnect story of Example, for tests: two nodes, a job
// with a disconnect block, n1 cut off past its TTL and back.
type story struct {
	t      *testing.T
	srv    *rejoin.Server
	clk    *manualClock
	n1, n2 client
	mu     sync.Mutex
	ds     []rejoin.Decision
}

func newStory(t *testing.T, opts ...rejoin.Option) *story {
	st := &story{t: t, clk: newManualClock(epoch)}
	base := []rejoin.Option{
		rejoin.WithClock(st.clk),
		rejoin.WithIDGenerator(counter()),
		rejoin.WithAllocBatchWindow(-1),
		rejoin.WithHeartbeatConfig(heartbeat.Config{MinHeartbeatTTL: 10 * time.Second, HeartbeatGrace: 5 * time.Second}),
		rejoin.WithDecisionHook(func(d rejoin.Decision) {
			st.mu.Lock()
			st.ds = append(st.ds, d)
			st.mu.Unlock()
		}),
	}
	srv, err := rejoin.New(append(base, opts...)...)
	must.NoError(t, err)
	st.srv = srv
	st.n1 = client{srv, "n1", "secret-1"}
	st.n2 = client{srv, "n2", "secret-2"}
	return st
}

func (st *story) settle() {
	st.t.Helper()
	_, err := st.srv.ProcessEvals()
	must.NoError(st.t, err)
}

func (st *story) kinds() map[string]int {
	st.mu.Lock()
	defer st.mu.Unlock()
	m := map[string]int{}
	for _, d := range st.ds {
		m[d.Kind+"/"+d.Rule]++
	}
	return m
}

// run plays the story; between the steps it calls the check functions.
func (st *story) run(afterCut func()) {
	t := st.t
	must.NoError(t, st.srv.Start())
	st.n1.register()
	st.n2.register()
	_, err := st.srv.RegisterJob(webJob())
	must.NoError(t, err)
	st.settle()
	st.n1.reportRunning()
	for range 12 {
		st.clk.Advance(5 * time.Second)
		st.n2.heartbeat()
		st.settle()
	}
	st.n2.reportRunning()
	if afterCut != nil {
		afterCut()
	}
	st.n1.heartbeat()
	st.n1.reportRunning()
	st.settle()
}

// eachInterval calls f with every interval of the sink, read-locked.
func eachInterval(sink *gometrics.InmemSink, f func(*gometrics.IntervalMetrics)) {
	for _, iv := range sink.Data() {
		iv.RLock()
		f(iv)
		iv.RUnlock()
	}
}

// counterSum sums a counter across the sink's intervals.
func counterSum(sink *gometrics.InmemSink, key string) float64 {
	var n float64
	eachInterval(sink, func(iv *gometrics.IntervalMetrics) {
		if c, ok := iv.Counters[key]; ok {
			n += c.Sum
		}
	})
	return n
}

// sampleCount counts a sample's observations across the sink's intervals.
func sampleCount(sink *gometrics.InmemSink, key string) int {
	n := 0
	eachInterval(sink, func(iv *gometrics.IntervalMetrics) {
		if s, ok := iv.Samples[key]; ok {
			n += s.Count
		}
	})
	return n
}

func gauge(sink *gometrics.InmemSink, key string) (float32, bool) {
	data := sink.Data()
	for i := len(data) - 1; i >= 0; i-- {
		data[i].RLock()
		g, ok := data[i].Gauges[key]
		data[i].RUnlock()
		if ok {
			return g.Value, true
		}
	}
	return 0, false
}

// TestServer_MetricsFollowTheStory: the counters move as the reconnect
// story unfolds, and a scrape of the Prometheus endpoint shows them.
func TestServer_MetricsFollowTheStory(t *testing.T) {
	inmem := gometrics.NewInmemSink(time.Hour, time.Hour)
	prom, err := metrics.NewPrometheus()
	must.NoError(t, err)
	st := newStory(t, rejoin.WithMetrics(gometrics.FanoutSink{inmem, prom.Sink}), rejoin.WithGaugeInterval(5*time.Second))
	defer st.srv.Stop()

	st.run(func() {
		// While n1 is cut off, nothing has reconnected yet.
		must.Eq(t, 0.0, counterSum(inmem, "rejoin.reconcile.decisions;kind=reconnect;rule=row_9"))
		must.Greater(t, 0.0, counterSum(inmem, "rejoin.heartbeat.expired"))
		must.Eq(t, 1.0, counterSum(inmem, "rejoin.reconcile.decisions;kind=disconnect;rule=row_7"))
		v, ok := gauge(inmem, "rejoin.nodes.status;status=disconnected")
		must.True(t, ok)
		must.Eq(t, float32(1), v)
		// An alloc update from the disconnected node is refused whole.
		var resp structs.AllocUpdateResponse
		err := st.srv.Endpoints().UpdateAlloc(&structs.AllocUpdateRequest{NodeID: "n1", SecretID: "secret-1",
			Alloc: []*structs.Allocation{{ID: "a-02", ClientStatus: structs.AllocClientStatusRunning}}}, &resp)
		must.ErrorIs(t, err, structs.ErrNodeNotReady)
	})

	must.Eq(t, 1.0, counterSum(inmem, "rejoin.reconcile.decisions;kind=reconnect;rule=row_9"))
	must.Eq(t, 1.0, counterSum(inmem, "rejoin.reconcile.decisions;kind=stop;rule=row_9"))
	must.Eq(t, 1.0, counterSum(inmem, "rejoin.rpc.alloc_update.rejected;reason=node-not-ready"))
	must.Eq(t, 3.0, counterSum(inmem, "rejoin.rpc.alloc_update.accepted")) // a-02, a-04, a-02 again
	must.Greater(t, 10.0, counterSum(inmem, "rejoin.heartbeat.reset"))
	must.Eq(t, 1.0, counterSum(inmem, "rejoin.job.register"))
	must.Greater(t, 2.0, counterSum(inmem, "rejoin.reconcile.evals"))
	st.clk.Advance(5 * time.Second) // a gauge sample after the reconnect
	v, _ := gauge(inmem, "rejoin.nodes.status;status=ready")
	must.Eq(t, float32(2), v)
	v, _ = gauge(inmem, "rejoin.nodes.status;status=disconnected")
	must.Eq(t, float32(0), v)

	// The same story, scraped.
	hs := httptest.NewServer(metrics.Handler(prom, false))
	defer hs.Close()
	resp, err := hs.Client().Get(hs.URL + "/metrics")
	must.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must.NoError(t, err)
	for _, want := range []string{
		`rejoin_reconcile_decisions{kind="reconnect",rule="row_9"} 1`,
		`rejoin_reconcile_decisions{kind="disconnect",rule="row_7"} 1`,
		`rejoin_rpc_alloc_update_rejected{reason="node-not-ready"} 1`,
		`rejoin_heartbeat_expired `,
		`rejoin_nodes_status{status="ready"} 2`,
		`rejoin_reconcile_latency_ms`,
		`rejoin_eval_queue_ready 0`,
	} {
		must.StrContains(t, string(body), want)
	}
}

// TestServer_DecisionsCarryReasonsAndAllocs: the hook sees each decision
// with the alloc it is about and its rule; Alloc.Get reports the last one.
func TestServer_DecisionsCarryReasonsAndAllocs(t *testing.T) {
	st := newStory(t)
	defer st.srv.Stop()
	st.run(nil)
	k := st.kinds()
	must.Eq(t, 1, k["disconnect/row_7"])
	must.Eq(t, 1, k["reconnect/row_9"])
	must.Eq(t, 1, k["stop/row_9"])
	for _, d := range st.ds {
		must.NotEq(t, "", d.AllocID, must.Sprint(d))
		must.NotEq(t, uint64(0), d.Index)
		must.NotEq(t, "", d.Reason)
		must.Eq(t, "web", d.JobID)
	}
	got := mustAllocInfo(t, st.srv, "a-04")
	must.Eq(t, rejoin.KindStop, got.Kind)
	must.StrContains(t, got.Reason, "row 9")
}

func mustAllocInfo(t *testing.T, srv *rejoin.Server, id string) rejoinDecision {
	t.Helper()
	var info rpc.AllocInfo
	must.NoError(t, srv.Operator().AllocGet(&rpc.AllocGetRequest{AllocID: id}, &info))
	must.NotNil(t, info.LastDecision)
	return rejoinDecision{Kind: info.LastDecision.Kind, Reason: info.LastDecision.Reason}
}

type rejoinDecision struct{ Kind, Reason string }

// TestServer_DataDirRestoresState: a graceful stop and a restart give the
// same state; so does opening the directory of a server that never
// stopped (a crash), from its command log.
func TestServer_DataDirRestoresState(t *testing.T) {
	dir := t.TempDir()
	st := newStory(t, rejoin.WithDataDir(dir))
	st.run(nil)
	st.clk.Advance(time.Second) // the log's fsync timer
	want, err := st.srv.Snapshot().StateHash()
	must.NoError(t, err)

	// Crash: the directory as the running server left it on disk.
	must.NoError(t, reopen(t, crashImage(t, dir), want).Stop())

	must.NoError(t, st.srv.Stop())
	_, err = os.Stat(filepath.Join(dir, rejoin.SnapshotFile))
	must.NoError(t, err)
	again := reopen(t, dir, want)
	defer again.Stop()
	a, err := again.Store().AllocByID(nil, "a-02")
	must.NoError(t, err)
	must.Eq(t, structs.AllocClientStatusRunning, a.ClientStatus)
}

// TestServer_DataDirLocked: a second server on a directory in use refuses
// to start and changes nothing; once the first stops, the directory opens.
func TestServer_DataDirLocked(t *testing.T) {
	dir := t.TempDir()
	st := newStory(t, rejoin.WithDataDir(dir))
	st.run(nil)
	want, err := st.srv.Snapshot().StateHash()
	must.NoError(t, err)

	_, err = rejoin.New(rejoin.WithDataDir(dir))
	must.ErrorIs(t, err, rejoin.ErrDataDirLocked)
	must.StrContains(t, err.Error(), dir)
	_, err = os.Stat(filepath.Join(dir, rejoin.SnapshotFile))
	must.ErrorIs(t, err, fs.ErrNotExist) // the refused server wrote nothing

	_, err = rejoin.LockDataDir(dir) // an embedder's own lock, too
	must.ErrorIs(t, err, rejoin.ErrDataDirLocked)

	must.NoError(t, st.srv.Stop())
	release, err := rejoin.LockDataDir(dir)
	must.NoError(t, err)
	_, err = rejoin.New(rejoin.WithDataDir(dir))
	must.ErrorIs(t, err, rejoin.ErrDataDirLocked)
	release()
	must.NoError(t, reopen(t, dir, want).Stop())
}

// TestServer_StopCompactsLog: the final snapshot makes the command log
// before it redundant, so Stop deletes it; restarts still give the same
// state, and commands after a restart are logged again.
func TestServer_StopCompactsLog(t *testing.T) {
	dir := t.TempDir()
	logDir := filepath.Join(dir, rejoin.LogDir)
	st := newStory(t, rejoin.WithDataDir(dir))
	st.run(nil)
	st.clk.Advance(time.Second) // the log's fsync timer
	logged := 0
	must.NoError(t, cmdlog.ReadDir(logDir, func(cmdlog.Record) error { logged++; return nil }))
	must.Positive(t, logged)
	want, err := st.srv.Snapshot().StateHash()
	must.NoError(t, err)
	must.NoError(t, st.srv.Stop())

	// Everything logged is at or below the snapshot's index: all of it goes.
	entries, err := os.ReadDir(logDir)
	must.NoError(t, err)
	must.SliceEmpty(t, entries)

	again := reopen(t, dir, want, rejoin.WithClock(st.clk))
	must.NoError(t, again.Start())
	client{again, "n3", "secret-3"}.register()
	st.clk.Advance(time.Second) // the log's fsync timer
	want, err = again.Snapshot().StateHash()
	must.NoError(t, err)
	latest := again.Store().LatestIndex()

	// A crash image taken now (no final snapshot) gets the new node from
	// the new log, on top of the compacted directory's snapshot.
	crashDir := crashImage(t, dir)
	must.NoError(t, again.Stop())
	third := reopen(t, crashDir, want)
	defer third.Stop()
	must.Eq(t, latest, third.Store().LatestIndex())
	n3, err := third.Store().NodeByID(nil, "n3")
	must.NoError(t, err)
	must.NotNil(t, n3)
}

// TestServer_PeriodicSnapshotBoundsLog: while the server runs it writes a
// snapshot every interval and deletes the log segments it covers, keeping
// every command past it; a crash image restores the same state.
func TestServer_PeriodicSnapshotBoundsLog(t *testing.T) {
	dir := t.TempDir()
	snapPath := filepath.Join(dir, rejoin.SnapshotFile)
	logDir := filepath.Join(dir, rejoin.LogDir)
	inmem := gometrics.NewInmemSink(time.Hour, time.Hour)
	st := newStory(t, rejoin.WithDataDir(dir), rejoin.WithSnapshotInterval(20*time.Second),
		rejoin.WithLogSegmentSize(256), rejoin.WithMetrics(inmem))
	// quiet advances d while both nodes heartbeat: nothing is written.
	quiet := func(d time.Duration) {
		for range d / (5 * time.Second) {
			st.clk.Advance(5 * time.Second)
			st.n1.heartbeat()
			st.n2.heartbeat()
			st.settle()
		}
	}
	st.run(nil) // a minute of heartbeats: periodic snapshots fire meanwhile
	quiet(20 * time.Second)
	latest := st.srv.Store().LatestIndex()

	snap, meta, err := state.OpenSnapshotFile(snapPath, nil)
	must.NoError(t, err)
	must.Eq(t, latest, meta.Index) // the last firing saw every command
	var logged []uint64
	must.NoError(t, cmdlog.ReadDir(logDir, func(r cmdlog.Record) error {
		logged = append(logged, r.Index)
		return nil
	}))
	// The log lost its covered segments but nothing past the snapshot.
	must.Positive(t, len(logged))
	must.Less(t, int(latest), len(logged))
	must.Eq(t, latest, logged[len(logged)-1])
	must.True(t, logged[0] <= meta.Index+1)

	// Each snapshot written is timed, and the segments let go are counted.
	written := sampleCount(inmem, "rejoin.persist.snapshot_ms")
	must.Positive(t, written)
	must.Positive(t, counterSum(inmem, "rejoin.persist.log_segments_removed"))
	must.Eq(t, 0.0, counterSum(inmem, "rejoin.persist.snapshot_failed"))

	// A firing with nothing applied since the last snapshot writes none.
	before, err := os.Stat(snapPath)
	must.NoError(t, err)
	quiet(40 * time.Second)
	must.Eq(t, written, sampleCount(inmem, "rejoin.persist.snapshot_ms"))
	after, err := os.Stat(snapPath)
	must.NoError(t, err)
	must.Eq(t, before.ModTime(), after.ModTime())
	must.Eq(t, latest, st.srv.Store().LatestIndex())

	want, err := st.srv.Snapshot().StateHash()
	must.NoError(t, err)
	got, err := snap.Snapshot().StateHash()
	must.NoError(t, err)
	must.Eq(t, want, got)

	// A command after the last snapshot survives a crash through the log.
	client{st.srv, "n3", "secret-3"}.register()
	st.settle()
	st.clk.Advance(time.Second) // the log's fsync timer, not yet the snapshot's
	want, err = st.srv.Snapshot().StateHash()
	must.NoError(t, err)
	crashDir := crashImage(t, dir)
	_, meta, err = state.OpenSnapshotFile(filepath.Join(crashDir, rejoin.SnapshotFile), nil)
	must.NoError(t, err)
	must.Less(t, st.srv.Store().LatestIndex(), meta.Index)
	// Without its snapshot, the compacted log no longer starts at index 1:
	// the server refuses to start rather than build a partial state.
	bare := crashImage(t, crashDir)
	must.NoError(t, os.Remove(filepath.Join(bare, rejoin.SnapshotFile)))
	_, err = rejoin.New(rejoin.WithDataDir(bare))
	must.ErrorIs(t, err, cmdlog.ErrLogGap)

	must.NoError(t, reopen(t, crashDir, want).Stop())
	must.NoError(t, st.srv.Stop())
}

// crashImage copies dir as it is on disk, a running server's directory
// included (that one is locked while the server runs): what a crash would
// leave to restart from.
func crashImage(t *testing.T, dir string) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "crash")
	must.NoError(t, os.CopyFS(img, os.DirFS(dir)))
	return img
}

// reopen starts a server on dir and checks it restored the state whose
// hash is want.
func reopen(t *testing.T, dir string, want [32]byte, opts ...rejoin.Option) *rejoin.Server {
	t.Helper()
	srv, err := rejoin.New(append([]rejoin.Option{rejoin.WithDataDir(dir)}, opts...)...)
	must.NoError(t, err)
	got, err := srv.Snapshot().StateHash()
	must.NoError(t, err)
	must.Eq(t, want, got)
	return srv
}

func TestServer_CorruptSnapshotRefusesToStart(t *testing.T) {
	dir := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(dir, rejoin.SnapshotFile), []byte("not a snapshot"), 0o600))
	_, err := rejoin.New(rejoin.WithDataDir(dir))
	must.Error(t, err)
	must.StrContains(t, err.Error(), "restore")
}

func TestServer_Lifecycle(t *testing.T) {
	srv, err := rejoin.New()
	must.NoError(t, err)
	must.False(t, srv.IsLeader())
	must.NoError(t, srv.Start())
	must.True(t, srv.IsLeader())
	must.Error(t, srv.Start())
	_, err = srv.Evaluate(&structs.Evaluation{ID: "e", JobID: "j"})
	must.ErrorIs(t, err, structs.ErrInvalidRequest) // the built-in worker owns evaluations

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	c, err := rpc.NewClient(rpc.ClientConfig{Addr: ln.Addr().String()})
	must.NoError(t, err)
	defer c.Close()
	var status rpc.ServerStatusResponse
	must.NoError(t, c.ServerStatus(&rpc.ServerStatusRequest{}, &status)) // Serve is running
	must.True(t, status.Leader)
	must.NoError(t, srv.Stop())
	must.NoError(t, <-served)
	must.NoError(t, srv.Stop()) // again: no-op
	must.False(t, srv.IsLeader())
	must.ErrorIs(t, srv.Start(), rejoin.ErrStopped)
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	must.ErrorIs(t, srv.Serve(ln2), rejoin.ErrStopped)
	_, err = net.Dial("tcp", ln.Addr().String())
	must.Error(t, err) // no longer accepting
}

func TestServer_EvalQueueModeRefusesProcessEvals(t *testing.T) {
	srv, err := rejoin.New(rejoin.WithEvalQueue(make(broker, 1)))
	must.NoError(t, err)
	defer srv.Stop()
	_, err = srv.ProcessEvals()
	must.ErrorIs(t, err, structs.ErrInvalidRequest)
	_, err = srv.Evaluate(nil)
	must.ErrorIs(t, err, structs.ErrInvalidRequest)
}

func TestServer_JobsBadInput(t *testing.T) {
	srv, err := rejoin.New()
	must.NoError(t, err)
	defer srv.Stop()
	before := srv.Store().LatestIndex()
	bad := webJob()
	bad.TaskGroups[0].Disconnect.LostAfter = -time.Second
	_, err = srv.RegisterJob(bad)
	must.ErrorIs(t, err, structs.ErrInvalidJob)
	_, err = srv.DeregisterJob("", "nope")
	must.ErrorIs(t, err, structs.ErrUnknownJob)
	_, err = srv.Job("", "nope")
	must.ErrorIs(t, err, structs.ErrUnknownJob)
	must.Eq(t, before, srv.Store().LatestIndex())
	must.True(t, errors.Is(err, structs.ErrUnknownJob) && strings.Contains(err.Error(), "nope"))
}

// With an external broker, placements that found no node are retried too:
// Evaluate leaves a blocked evaluation, and the node becoming ready sends a
// fresh evaluation to the broker that places the job.
func TestServer_EvalQueueBlockedPlacementRetriedWhenNodeReady(t *testing.T) {
	queue := make(broker, 16)
	srv, err := rejoin.New(rejoin.WithEvalQueue(queue))
	must.NoError(t, err)
	must.NoError(t, srv.Start())
	defer srv.Stop()

	_, err = srv.RegisterJob(webJob())
	must.NoError(t, err)
	res, err := srv.Evaluate(recvEval(t, queue))
	must.NoError(t, err)
	must.Eq(t, 0, res.Placed)
	must.Positive(t, res.Unplaced)
	evals, err := srv.Store().Evals(nil)
	must.NoError(t, err)
	blocked := 0
	for _, e := range evals {
		if e.Status == structs.EvalStatusBlocked {
			blocked++
		}
	}
	must.Eq(t, 1, blocked)

	client{srv, "n1", "secret-1"}.register() // initializing -> ready
	retry := recvEval(t, queue)
	must.Eq(t, structs.EvalTriggerQueuedAllocs, retry.TriggeredBy)
	res, err = srv.Evaluate(retry)
	must.NoError(t, err)
	must.Positive(t, res.Placed)
	must.Eq(t, 0, res.Unplaced)
	allocs, err := srv.Store().AllocsByJob(nil, structs.DefaultNamespace, "web")
	must.NoError(t, err)
	must.Len(t, res.Placed, allocs)
	for _, a := range allocs {
		must.Eq(t, "n1", a.NodeID)
	}
}

// recvEval takes the next evaluation the server hands the broker; the
// deadline only turns a missing delivery into a failure instead of a hang.
func recvEval(t *testing.T, queue broker) *structs.Evaluation {
	t.Helper()
	select {
	case e := <-queue:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no evaluation reached the broker")
		return nil
	}
}
