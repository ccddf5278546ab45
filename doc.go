// Package rejoin is the client-heartbeat and allocation-reconnect engine a
// cluster scheduler server links in. New wires the state store, the
// heartbeat tracker, the client RPC endpoints, the job and operator
// endpoints and the evaluation worker; functional options replace what an
// embedder owns: node selection (WithPlacer), the evaluation flow
// (WithEvalQueue + Evaluate), the clock, the logger, an audit hook for
// every decision (WithDecisionHook), heartbeat tuning, metrics and a data
// directory. With no options it runs in memory on the system clock.
//
// # Lifecycle
//
// New restores the data directory (if any) and returns a server that
// answers reads. Start makes it the leader: it tracks heartbeats (every
// node that is not down gets the failover TTL to check in) and starts
// processing evaluations. Stop ends leadership for good and shuts down
// gracefully (see Stop). A Server is not restartable: build a new one from
// the same data directory.
//
// # Guarantees
//
// Concurrency: every method is safe for concurrent use. Client calls for
// one node are applied one at a time in arrival order, calls for different
// nodes in parallel (see package rpc). Evaluations are processed one job at
// a time, in one goroutine.
//
// Blocking: Endpoints().GetClientAllocs is a blocking query (it returns
// when the node's allocations change or its wait ends; Stop ends it).
// Endpoints().UpdateAlloc returns once its batch is written (the batch
// window, WithAllocBatchWindow, is the most it waits). Reads (Store,
// Snapshot, Job, Operator) never wait for writers. Start returns at once;
// Stop and ProcessEvals block until their work is done; Serve blocks until
// Stop.
//
// Copies: objects passed in (jobs, requests) are copied or encoded before
// they are stored, so callers may reuse them. Objects returned by Store and
// Snapshot reads are shared with the store and must not be modified; Job
// and the Jobs/Operator endpoints return copies (node secrets are never
// returned by Operator). Decisions handed to the hook are values.
//
// Callbacks: the decision hook and the EvalQueue are called with no lock of
// the server held, on the goroutine that applied the evaluation or fed the
// queue; neither may call Stop, and the hook must not call ProcessEvals or
// Evaluate.
//
// Time: every time the engine judges (heartbeat TTLs, disconnect windows,
// delayed evaluations, AllocState times) is the server's clock, never a
// client's.
package rejoin
