package reconcile

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-memdb"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// WorkerStore is what the worker reads and writes; *state.Store satisfies it.
type WorkerStore interface {
	Writer
	Snapshot() *state.Snapshot
}

// blockingStore is what Run needs on top of WorkerStore to wait for new
// evaluations; *state.Store has it.
type blockingStore interface {
	BlockingQuery(ctx context.Context, minIndex uint64,
		query func(ws memdb.WatchSet, snap *state.Snapshot) (uint64, error)) (uint64, error)
}

// WorkerConfig configures a Worker. Only Store is required.
type WorkerConfig struct {
	Store  WorkerStore
	Clock  clock.Clock // nil means clock.System{}
	Logger hclog.Logger
	NewID  func() string // nil means random UUIDs
	Placer Placer        // nil means DefaultPlacer
	// OnResult, if set, is called once for each applied evaluation, in the
	// order of the writes, outside the worker's locks (an audit hook).
	// ProcessReady returns after the calls for the evaluations it applied;
	// they may run while another goroutine processes the next job. It must
	// not call ProcessReady (it would wait for itself).
	OnResult func(eval *structs.Evaluation, in Input, res *Results, out ApplyOutcome)
	// Metrics, if set, receives the worker's counters (MetricPlanStale,
	// MetricKeptChanging).
	Metrics Metrics
	// Parallelism is how many goroutines prepare the runs of a batch of
	// ready jobs (read their allocations and nodes, run Compute), all from
	// one snapshot; plans are still written one at a time, in queue order,
	// and the commands are the same whatever the value. 0 means
	// runtime.GOMAXPROCS(0).
	Parallelism int
}

// Metrics receives the worker's counters; the server exports them.
type Metrics interface {
	IncrCounter(name string, v int)
}

// Metric names.
const (
	// MetricPlanStale counts plans the store rejected because the job,
	// its allocations or their nodes changed after the plan's snapshot;
	// each one is computed again. A steady rate means evaluations race
	// client updates for the same jobs.
	MetricPlanStale = "reconcile.plan_stale"
	// MetricKeptChanging counts jobs set aside for staleBackoff because
	// the store changed under staleAttempts runs in a row.
	MetricKeptChanging = "reconcile.kept_changing"
)

type noopMetrics struct{}

func (noopMetrics) IncrCounter(string, int) {}

const (
	// staleAttempts bounds how often one job is re-run because the store
	// changed under it before the worker gives up for now.
	staleAttempts = 4
	// staleBackoff is how long a job that kept changing waits before the
	// worker tries it again.
	staleBackoff = time.Second
	// maxRounds bounds ProcessReady's store re-scans, so a job that kept
	// creating immediately-ready evaluations could not spin it forever.
	maxRounds = 64
)

// Worker processes pending evaluations: it queues them (deduplicated per
// job, delayed ones held until their WaitUntil by the injected clock), and
// takes ready jobs in batches: one store snapshot per batch, Compute for
// each job on up to Parallelism goroutines, then each job's plan written
// with Apply, one at a time, conditional on the snapshot.
type Worker struct {
	store    WorkerStore
	clock    clock.Clock
	logger   hclog.Logger
	applyCfg ApplyConfig
	onResult func(eval *structs.Evaluation, in Input, res *Results, out ApplyOutcome)
	metrics  Metrics
	// parallelism is WorkerConfig.Parallelism, resolved.
	parallelism int

	// procMu serialises ProcessReady (and so Run) and Evaluate: one batch
	// is processed at a time and the worker's writes happen in a
	// deterministic order. It also protects the node caches.
	procMu sync.Mutex
	// nodes caches the store's node list as of nodes-table index nodesAt:
	// placement candidates, re-read only when a node changed.
	nodes   []*structs.Node
	nodesAt uint64
	// nodeMemo is nodeCache's memory of single nodes (see nodeCache).
	// Protected by procMu; while a batch is prepared on other goroutines
	// they read it (sharedNodes) and nothing writes it until the batch is
	// done.
	nodeMemo nodeCache

	// mu protects q and lastSync. It is never held while calling the store
	// or a hook; timer callbacks take it.
	mu       sync.Mutex
	q        evalQueue
	lastSync uint64 // evals-table index of the last SyncFromStore scan

	// wake (capacity 1) tells Run that an evaluation became ready without a
	// store write: a timer released it, or Enqueue added it.
	wake chan struct{}

	// hookBatch are the OnResult calls of the ProcessReady in progress,
	// handed to hooks before procMu is released. Protected by procMu.
	hookBatch []hookCall
	// hooks delivers OnResult calls in order, outside procMu.
	hooks hookQueue

	// beforeApply, if set (tests only), runs between Compute and the plan's
	// write, to simulate a concurrent write.
	beforeApply func(attempt int)
}

// NewWorker returns a worker for cfg.
func NewWorker(cfg WorkerConfig) *Worker {
	w := &Worker{
		store:       cfg.Store,
		clock:       cfg.Clock,
		logger:      cfg.Logger,
		applyCfg:    ApplyConfig{Placer: cfg.Placer, NewID: cfg.NewID},
		onResult:    cfg.OnResult,
		metrics:     cfg.Metrics,
		parallelism: cfg.Parallelism,
		q:           newEvalQueue(),
		wake:        make(chan struct{}, 1),
	}
	if w.clock == nil {
		w.clock = clock.System{}
	}
	if w.logger == nil {
		w.logger = hclog.NewNullLogger()
	}
	if w.metrics == nil {
		w.metrics = noopMetrics{}
	}
	if w.parallelism <= 0 {
		w.parallelism = runtime.GOMAXPROCS(0)
	}
	w.logger = w.logger.Named("eval-worker")
	return w
}

// SyncFromStore enqueues every pending evaluation in the store that the
// worker has not seen, in (CreateIndex, ID) order. Evaluations with a
// WaitUntil in the future are held and released then by the clock. Held
// evaluations that became terminal in the store (say, a disconnect timeout
// canceled because its alloc reconnected) are dropped.
//
// It reads only the evaluations written since its last scan (the store
// indexes them by status and ModifyIndex), and nothing when the evals table
// has not moved. That finds them all: one written earlier was pending at
// the last scan and so is seen, and the worker forgets an evaluation only
// once its terminal status is written. Should the table's index go
// backwards (a restore of an older snapshot) it scans every pending one.
func (w *Worker) SyncFromStore() error {
	snap := w.store.Snapshot()
	at := snap.Index(state.TableEvals)
	w.mu.Lock()
	since := w.lastSync
	w.mu.Unlock()
	if at == since {
		return nil
	}
	from := since + 1
	if at < since {
		from = 0
	}
	evals, err := snap.EvalsByStatusSince(nil, structs.EvalStatusPending, from)
	if err != nil {
		return fmt.Errorf("reconcile: worker: list pending evaluations: %w", err)
	}
	var ended []*structs.Evaluation
	for _, status := range []string{structs.EvalStatusComplete, structs.EvalStatusFailed, structs.EvalStatusCanceled} {
		done, err := snap.EvalsByStatusSince(nil, status, from)
		if err != nil {
			return fmt.Errorf("reconcile: worker: list %s evaluations: %w", status, err)
		}
		ended = append(ended, done...)
	}
	var pending []*structs.Evaluation
	now := w.clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, e := range evals {
		if _, ok := w.q.seen[e.ID]; !ok {
			pending = append(pending, e)
		}
	}
	for _, e := range ended {
		if _, held := w.q.held[e.ID]; held {
			w.q.drop(e.ID)
		}
	}
	slices.SortFunc(pending, evalOrder)
	for _, e := range pending {
		w.enqueueLocked(e, now)
	}
	w.lastSync = at
	return nil
}

// Enqueue adds evaluations to the queue (copies are taken). Evaluations the
// worker already holds are ignored; terminal ones are ignored.
func (w *Worker) Enqueue(evals ...*structs.Evaluation) {
	now := w.clock.Now()
	w.mu.Lock()
	for _, e := range evals {
		if e == nil || e.TerminalStatus() {
			continue
		}
		w.enqueueLocked(e.Copy(), now)
	}
	w.mu.Unlock()
	w.signal()
}

// enqueueLocked queues e as ready or holds it until its WaitUntil. The
// caller holds mu. Arming a timer under mu is safe: AfterFunc never runs
// its callback synchronously.
func (w *Worker) enqueueLocked(e *structs.Evaluation, now time.Time) {
	if _, ok := w.q.seen[e.ID]; ok {
		return
	}
	w.q.seen[e.ID] = struct{}{}
	if !e.WaitUntil.After(now) {
		w.q.pushReady(e)
		return
	}
	w.holdLocked(e, e.WaitUntil.Sub(now))
}

func (w *Worker) holdLocked(e *structs.Evaluation, d time.Duration) {
	id := e.ID
	w.q.hold(e, w.clock.AfterFunc(d, func() { w.release(id) }))
}

// release is a held evaluation's timer callback.
func (w *Worker) release(id string) {
	w.mu.Lock()
	ok := w.q.release(id)
	w.mu.Unlock()
	if ok {
		w.signal()
	}
}

// signal wakes Run without blocking.
func (w *Worker) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Pending returns how many evaluations are ready and how many are held
// until a later time.
func (w *Worker) Pending() (ready, delayed int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.q.readyCount, len(w.q.held)
}

// ProcessReady synchronously processes every ready evaluation (scanning the
// store first, and again after each pass) until none is ready, writing one
// job's plan at a time, in the order of each job's oldest ready evaluation
// (prepared in batches: see prepareBatch). Several ready
// evaluations of one job are processed once: the oldest drives the run and
// the others are completed in the same write. It returns how many
// evaluations it completed. Errors of single jobs do not stop the others;
// their evaluations are marked failed and the errors are returned joined.
func (w *Worker) ProcessReady() (int, error) {
	w.procMu.Lock()
	n, err := w.processReadyLocked()
	// Queued before procMu is released, so hook calls follow the order of
	// the writes even when another ProcessReady starts at once.
	upTo := w.hooks.add(w.hookBatch)
	w.hookBatch = nil
	w.procMu.Unlock()
	w.hooks.deliver(upTo, w.onResult)
	return n, err
}

// processReadyLocked is ProcessReady's loop; the caller holds procMu.
func (w *Worker) processReadyLocked() (int, error) {
	processed := 0
	var errs []error
	for range maxRounds {
		if err := w.SyncFromStore(); err != nil {
			return processed, errors.Join(append(errs, err)...)
		}
		progressed := false
		for {
			batch := w.popBatch()
			if len(batch) == 0 {
				break
			}
			progressed = true
			bp := w.prepareBatch(w.store.Snapshot(), w.clock.Now(), batch)
			for i, je := range batch {
				n, run, err := w.processJob(je.evals, bp.wait(i))
				processed += n
				w.afterJob(je, n, run, err, &errs)
			}
		}
		if !progressed {
			break
		}
	}
	return processed, errors.Join(errs...)
}

// afterJob handles processJob's result for the queued job je: an error is
// kept, a job that kept changing is set aside, a written plan goes to the
// hooks.
func (w *Worker) afterJob(je *jobEvals, n int, run *hookCall, err error, errs *[]error) {
	switch {
	case err != nil:
		*errs = append(*errs, err)
	case run == nil && n == 0 && w.keptChanging(je.evals):
		// The job kept changing: try it again later rather than spin.
		w.metrics.IncrCounter(MetricKeptChanging, 1)
		w.logger.Warn("store kept changing under job, retrying later",
			"job_id", je.evals[0].JobID, "attempts", staleAttempts, "backoff", staleBackoff)
		w.mu.Lock()
		for _, e := range je.evals {
			w.holdLocked(e, staleBackoff)
		}
		w.mu.Unlock()
	case run != nil && w.onResult != nil:
		w.hookBatch = append(w.hookBatch, *run)
	}
}

// processJob evaluates one job for its ready evaluations. It returns how
// many evaluations it completed and, when it wrote a plan, what went into
// it. When the store kept changing under the job for staleAttempts runs it
// writes nothing and returns (0, nil, nil) with the job's evaluations still
// current; the caller decides whether to retry later (keptChanging).
//
// first, when not nil, is the job's first attempt already prepared from a
// batch's snapshot (see prepareBatch); later attempts read a fresh one.
func (w *Worker) processJob(queued []*structs.Evaluation, first *batchRun) (int, *hookCall, error) {
	for attempt := 1; attempt <= staleAttempts; attempt++ {
		var (
			snap *state.Snapshot
			now  time.Time
			p    prepared
		)
		switch {
		case attempt == 1 && first != nil:
			snap, now, p = first.snap, first.now, *first.prep
		case first != nil && first.shared:
			// The batch's other runs may still be being prepared, reading
			// the node memo: leave it alone.
			snap, now = w.store.Snapshot(), w.clock.Now()
			p = prepare(snap, now, queued, storeNodes(snap))
		default:
			snap, now = w.store.Snapshot(), w.clock.Now()
			p = prepare(snap, now, queued, w.memoNodes(snap))
		}
		switch {
		case len(p.evals) == 0:
			w.forget(queued)
			return 0, nil, nil
		case p.err != nil:
			return w.failRun(p.evals, p.err)
		case p.job == nil:
			n, err := w.completeWithoutJob(p.evals, now)
			return n, nil, err
		}
		n, run, stale, err := w.commit(snap, now, queued, &p, attempt)
		if stale {
			continue
		}
		return n, run, err
	}
	return 0, nil, nil
}

// prepared is one job's run up to its plan: everything read from one
// snapshot and computed from it. It is built without writing anything or
// touching the worker's state, so the jobs of a batch are prepared in
// parallel.
type prepared struct {
	evals []*structs.Evaluation // the queued ones still needing a run, sorted; the first drives it
	job   *structs.Job          // nil: the job is gone
	in    Input
	res   *Results
	err   error
}

// batchRun is a job's first attempt, prepared with its batch.
type batchRun struct {
	snap *state.Snapshot
	now  time.Time
	prep *prepared
	// shared: the batch is prepared on other goroutines, which read the
	// node memo until the batch is done.
	shared bool
}

// prepare reads the job of queued from snap and computes its results. It
// writes nothing and reads the worker's state only through nodes.
func prepare(snap *state.Snapshot, now time.Time, queued []*structs.Evaluation, nodes nodeView) prepared {
	p := prepared{evals: currentEvals(snap, queued)}
	if len(p.evals) == 0 {
		return p
	}
	primary := p.evals[0]
	if p.job, p.err = snap.JobByID(nil, primary.Namespace, primary.JobID); p.err != nil || p.job == nil {
		return p
	}
	if p.in, p.err = buildInput(snap, p.job, primary.ID, now, nodes); p.err != nil {
		return p
	}
	p.res = Compute(p.in)
	return p
}

// commit turns a prepared run into a plan and writes it, conditional on
// snap (ReadIndex). stale reports that the store refused it because the
// job changed since; nothing was written and the job is to be run again.
func (w *Worker) commit(snap *state.Snapshot, now time.Time, queued []*structs.Evaluation, p *prepared, attempt int) (int, *hookCall, bool, error) {
	evals, job, in, res := p.evals, p.job, p.in, p.res
	primary := evals[0]
	fail := func(cause error) (int, *hookCall, bool, error) {
		n, run, err := w.failRun(evals, cause)
		return n, run, false, err
	}
	var candidates []*structs.Node
	if len(res.Place) > 0 {
		var err error
		if candidates, err = w.allNodes(snap); err != nil {
			return fail(err)
		}
	}
	req, out, err := buildPlan(candidates, in, res, w.applyCfg)
	if err != nil {
		return fail(err)
	}
	blocked, err := blockedUpdate(snap, job, primary.ID, out, now)
	if err != nil {
		return fail(err)
	}
	others := evals[1:]
	if blocked != nil {
		req.Evals = append(req.Evals, blocked)
		// The blocked evaluation's own write stands in for its
		// completion should it be one of those being processed.
		others = slices.DeleteFunc(slices.Clone(others), func(e *structs.Evaluation) bool { return e.ID == blocked.ID })
		if req.EvalID == blocked.ID {
			req.EvalID = ""
		}
	}
	req.Evals = append(req.Evals, completedCopies(others, now,
		"processed together with evaluation "+primary.ID)...)
	if w.beforeApply != nil {
		w.beforeApply(attempt)
	}
	// The store rejects the plan, writing nothing, if what it was
	// computed from changed since snap: see ReadIndex.
	req.ReadIndex = snap.LatestIndex()
	idx, _, err := w.store.ApplyCommand(structs.ApplyPlanResultsRequestType, req)
	if errors.Is(err, structs.ErrPlanStale) {
		w.metrics.IncrCounter(MetricPlanStale, 1)
		w.logger.Debug("store changed under evaluation, re-running",
			"eval_id", primary.ID, "job_id", job.ID, "attempt", attempt, "reason", err)
		return 0, nil, true, nil
	}
	if err != nil {
		return fail(fmt.Errorf("reconcile: apply plan of job %q (eval %q): %w", job.ID, primary.ID, err))
	}
	out.Index = idx
	w.forget(queued)
	if out.Unplaced > 0 {
		w.logger.Warn("placements found no node", "eval_id", primary.ID, "job_id", job.ID, "unplaced", out.Unplaced)
	}
	if blocked != nil && blocked.Status == structs.EvalStatusBlocked {
		if err := w.unblockIfNodeReadied(snap, blocked, now); err != nil {
			w.logger.Error("checking for a node that became ready while the job was blocked",
				"eval_id", blocked.ID, "job_id", job.ID, "error", err)
		}
	}
	return len(evals), &hookCall{eval: primary, in: in, res: res, out: out}, false, nil
}

// failRun is fail for processJob's three results.
func (w *Worker) failRun(evals []*structs.Evaluation, cause error) (int, *hookCall, error) {
	n, err := w.fail(evals, cause)
	return n, nil, err
}

// keptChanging reports whether processJob wrote nothing for evals although
// some of them still need processing: the store kept changing under the job.
func (w *Worker) keptChanging(evals []*structs.Evaluation) bool {
	return len(currentEvals(w.store.Snapshot(), evals)) > 0
}

// EvalOutcome is what Evaluate applied for one evaluation.
type EvalOutcome struct {
	// Processed counts the evaluations completed: the one given, plus
	// other ready evaluations of its job completed in the same write.
	Processed int
	// Input, Results and Applied are what Compute saw, decided and what
	// Apply wrote; Results is nil when no plan was written (the evaluation
	// was already terminal, or its job is gone).
	Input   Input
	Results *Results
	Applied ApplyOutcome
}

// ErrKeptChanging: Evaluate gave up because the job's allocations or nodes
// changed under every attempt; nothing was written, so the evaluation can
// be run again.
var ErrKeptChanging = errors.New("reconcile: the store kept changing under the job")

// Evaluate processes one evaluation now, outside the worker's queue, for an
// embedder whose own broker decides when evaluations run. It takes exactly
// the steps ProcessReady takes for a job: the stale-snapshot re-runs, the
// blocked evaluation for placements that found no node, the job-gone case,
// failure marking. Its result goes to the caller, not to OnResult. Do not mix
// it with Run or ProcessReady on the same worker.
func (w *Worker) Evaluate(eval *structs.Evaluation) (EvalOutcome, error) {
	if eval == nil || eval.ID == "" || eval.JobID == "" {
		return EvalOutcome{}, fmt.Errorf("%w: an evaluation needs an ID and a job", structs.ErrInvalidRequest)
	}
	e := eval.Copy()
	if e.Namespace == "" {
		e.Namespace = structs.DefaultNamespace
	}
	w.procMu.Lock()
	defer w.procMu.Unlock()
	n, run, err := w.processJob([]*structs.Evaluation{e}, nil)
	if err != nil {
		return EvalOutcome{Processed: n}, err
	}
	if run == nil {
		if n == 0 && w.keptChanging([]*structs.Evaluation{e}) {
			return EvalOutcome{}, fmt.Errorf("%w %q (evaluation %q)", ErrKeptChanging, e.JobID, e.ID)
		}
		return EvalOutcome{Processed: n}, nil
	}
	return EvalOutcome{Processed: n, Input: run.in, Results: run.res, Applied: run.out}, nil
}

// currentEvals returns the queued evaluations that still need processing,
// as the snapshot has them, sorted. One missing from the store (enqueued
// before its write landed) is kept as queued.
func currentEvals(snap *state.Snapshot, queued []*structs.Evaluation) []*structs.Evaluation {
	out := make([]*structs.Evaluation, 0, len(queued))
	for _, e := range queued {
		cur, err := snap.EvalByID(nil, e.ID)
		switch {
		case err != nil || cur == nil:
			out = append(out, e)
		case !cur.TerminalStatus():
			out = append(out, cur)
		}
	}
	slices.SortFunc(out, evalOrder)
	return out
}

// allNodes returns every node of snap, sorted by ID, from the cache when no
// node changed since it was filled. The caller holds procMu.
func (w *Worker) allNodes(snap *state.Snapshot) ([]*structs.Node, error) {
	at := snap.Index(state.TableNodes)
	if w.nodes != nil && w.nodesAt == at {
		return w.nodes, nil
	}
	nodes, err := snap.Nodes(nil)
	if err != nil {
		return nil, err
	}
	w.nodes, w.nodesAt = nodes, at
	return nodes, nil
}

// buildInput reads what Compute needs for job from snap, its nodes through
// nodes.
func buildInput(snap *state.Snapshot, job *structs.Job, evalID string, now time.Time, nodes nodeView) (Input, error) {
	ns := job.NamespacedID().Namespace
	allocs, err := snap.AllocsByJob(nil, ns, job.ID)
	if err != nil {
		return Input{}, err
	}
	in := Input{Job: job, Allocs: allocs, Now: now, EvalID: evalID}
	if job.Type == structs.JobTypeSystem {
		all, err := nodes.all()
		if err != nil {
			return Input{}, err
		}
		in.Nodes = make(map[string]*structs.Node, len(all))
		for _, n := range all {
			in.Nodes[n.ID] = n
		}
		return in, nil
	}
	// Usually about one node per alloc; capped, as a large job shares
	// nodes.
	in.Nodes = make(map[string]*structs.Node, min(len(allocs), 1024))
	for _, a := range allocs {
		if _, ok := in.Nodes[a.NodeID]; ok {
			continue
		}
		n, err := nodes.byID(a.NodeID)
		if err != nil {
			return Input{}, err
		}
		if n != nil {
			in.Nodes[a.NodeID] = n
		}
	}
	return in, nil
}

// completedCopies returns copies of evals marked complete.
func completedCopies(evals []*structs.Evaluation, now time.Time, why string) []*structs.Evaluation {
	return withStatus(evals, structs.EvalStatusComplete, now, why)
}

func withStatus(evals []*structs.Evaluation, status string, now time.Time, why string) []*structs.Evaluation {
	out := make([]*structs.Evaluation, len(evals))
	for i, e := range evals {
		c := e.Copy()
		c.Status = status
		c.StatusDescription = why
		c.ModifyTime = now.UnixNano()
		out[i] = c
	}
	return out
}

// completeWithoutJob completes the evaluations of a job that no longer
// exists: there is nothing to reconcile.
func (w *Worker) completeWithoutJob(evals []*structs.Evaluation, now time.Time) (int, error) {
	req := &structs.EvalUpdateRequest{Evals: completedCopies(evals, now, "job no longer exists")}
	if _, _, err := w.store.ApplyCommand(structs.EvalUpdateRequestType, req); err != nil {
		return 0, fmt.Errorf("reconcile: complete evaluations of missing job %q: %w", evals[0].JobID, err)
	}
	w.forget(evals)
	return len(evals), nil
}

// fail marks evals failed with cause, so they are not retried forever, and
// returns cause. If even that write fails the evaluations stay pending but
// seen: this worker will not retry them.
func (w *Worker) fail(evals []*structs.Evaluation, cause error) (int, error) {
	w.logger.Error("evaluation failed", "eval_id", evals[0].ID, "job_id", evals[0].JobID, "error", cause)
	req := &structs.EvalUpdateRequest{Evals: withStatus(evals, structs.EvalStatusFailed, w.clock.Now(), cause.Error())}
	if _, _, err := w.store.ApplyCommand(structs.EvalUpdateRequestType, req); err != nil {
		return 0, errors.Join(cause, fmt.Errorf("reconcile: mark evaluations failed: %w", err))
	}
	w.forget(evals)
	return 0, cause
}

// forget removes processed evaluations from the seen set: the store now
// has them terminal, so a scan will not enqueue them again.
func (w *Worker) forget(evals []*structs.Evaluation) {
	w.mu.Lock()
	for _, e := range evals {
		delete(w.q.seen, e.ID)
	}
	w.mu.Unlock()
}

// Run processes evaluations until ctx ends: it processes what is ready,
// then waits for the evals table to change (a blocking query on its index)
// or a held evaluation to become ready, and repeats. Errors of single jobs
// are logged, not returned; Run returns nil when ctx ends, or an error if
// the store cannot run blocking queries.
func (w *Worker) Run(ctx context.Context) error {
	bs, ok := w.store.(blockingStore)
	if !ok {
		return fmt.Errorf("%w: reconcile: worker store %T has no BlockingQuery", structs.ErrInvalidRequest, w.store)
	}
	for ctx.Err() == nil {
		if _, err := w.ProcessReady(); err != nil {
			w.logger.Error("processing evaluations", "error", err)
		}
		w.wait(ctx, bs)
	}
	return nil
}

// wait blocks until the evals table moves past the last scan, a held
// evaluation is released, or ctx ends.
func (w *Worker) wait(ctx context.Context, bs blockingStore) {
	w.mu.Lock()
	ready, since := w.q.readyCount, w.lastSync
	w.mu.Unlock()
	if ready > 0 {
		return
	}
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-w.wake:
			cancel()
		case <-wctx.Done():
		}
	}()
	_, _ = bs.BlockingQuery(wctx, since, func(_ memdb.WatchSet, snap *state.Snapshot) (uint64, error) {
		// Watching nothing: any write wakes the query, which re-reads
		// the evals index in O(1).
		return snap.Index(state.TableEvals), nil
	})
	cancel()
	<-done
}
