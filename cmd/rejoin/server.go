package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/heartbeat"
	"github.com/rejoinhq/rejoin/metrics"
)

func init() {
	register(command{
		name:     "server",
		synopsis: "run a standalone server (--dev, or --bind ADDR --data-dir DIR); 'server status' asks a running one",
		run:      runServer,
	})
}

// Dev mode heartbeat settings: short, so a cut-off client shows within
// seconds.
const (
	devMinHeartbeatTTL  = 2 * time.Second
	devHeartbeatGrace   = 1 * time.Second
	devFailoverTTL      = 30 * time.Second
	devGaugeInterval    = time.Second
	serverStopTimeout   = 30 * time.Second
	metricsShutdownWait = 5 * time.Second
)

type serverFlags struct {
	dev         bool
	bind        string
	dataDir     string
	snapEvery   time.Duration
	evalPar     int
	metricsAddr string
	pprof       bool
	logLevel    string
	raft        raftFlags
}

// runServer runs the server until SIGINT or SIGTERM, then shuts down
// gracefully (stop accepting, drain in-flight RPCs, final snapshot) and
// exits 0. Usage errors exit 2; a failure to start or to save exits 1.
func runServer(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "status" {
		return runServerStatus(args[1:], stdout, stderr)
	}
	var f serverFlags
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.BoolVar(&f.dev, "dev", false, "development mode: loopback, short heartbeat TTLs, in memory unless --data-dir")
	fs.StringVar(&f.bind, "bind", "", "RPC listen `ADDR` (default 127.0.0.1:0 with --dev, else "+DefaultAddress+")")
	fs.StringVar(&f.dataDir, "data-dir", "", "keep snapshots and the command log in `DIR`; a restart restores from it (required without --dev)")
	fs.DurationVar(&f.snapEvery, "snapshot-interval", rejoin.DefaultSnapshotInterval, "with --data-dir, write a snapshot every `DURATION` while running and delete the command log it covers; 0: only at shutdown")
	fs.IntVar(&f.evalPar, "eval-parallelism", 0, "prepare evaluations on `N` goroutines (0: one per CPU); plans are still written one at a time")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on http://`ADDR`/metrics")
	fs.BoolVar(&f.pprof, "pprof", false, "also serve net/http/pprof under /debug/pprof/ on --metrics-addr")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `LEVEL`: trace, debug, info, warn, error")
	addRaftFlags(fs, &f.raft)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rejoin server --dev [--bind ADDR] [--data-dir DIR] [--metrics-addr ADDR [--pprof]]")
		fmt.Fprintln(stderr, "       rejoin server --bind ADDR --data-dir DIR [--metrics-addr ADDR [--pprof]]")
		fmt.Fprintln(stderr, "       rejoin server --bind ADDR --data-dir DIR --node-id ID --peers id=raftaddr,... [--raft-bind ADDR]")
		fmt.Fprintln(stderr, "       rejoin server status [--address ADDR] [--json]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "rejoin server: unexpected arguments %q\n", fs.Args())
		return exitBadInput
	case !f.dev && f.dataDir == "":
		fmt.Fprintln(stderr, "rejoin server: --data-dir DIR is required (or --dev for an in-memory server)")
		return exitBadInput
	case f.snapEvery < 0:
		fmt.Fprintf(stderr, "rejoin server: --snapshot-interval %s is negative\n", f.snapEvery)
		return exitBadInput
	case f.evalPar < 0:
		fmt.Fprintf(stderr, "rejoin server: --eval-parallelism %d is negative\n", f.evalPar)
		return exitBadInput
	case f.pprof && f.metricsAddr == "":
		fmt.Fprintln(stderr, "rejoin server: --pprof needs --metrics-addr")
		return exitBadInput
	case hclog.LevelFromString(f.logLevel) == hclog.NoLevel:
		fmt.Fprintf(stderr, "rejoin server: unknown --log-level %q\n", f.logLevel)
		return exitBadInput
	}
	if err := f.raft.validate(); err != nil {
		fmt.Fprintf(stderr, "rejoin server: %v\n", err)
		return exitBadInput
	}
	if f.bind == "" {
		f.bind = DefaultAddress
		if f.dev {
			f.bind = "127.0.0.1:0"
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, f, stdout, stderr)
}

// serve runs the server until ctx ends.
func serve(ctx context.Context, f serverFlags, stdout, stderr io.Writer) int {
	logger := hclog.New(&hclog.LoggerOptions{Name: "rejoin", Output: stderr, Level: hclog.LevelFromString(f.logLevel)})
	hb := heartbeat.Config{}
	if f.dev {
		hb = heartbeat.Config{MinHeartbeatTTL: devMinHeartbeatTTL, HeartbeatGrace: devHeartbeatGrace, FailoverHeartbeatTTL: devFailoverTTL}
	}
	opts := []rejoin.Option{rejoin.WithLogger(logger), rejoin.WithHeartbeatConfig(hb), rejoin.WithEvalParallelism(f.evalPar)}
	if f.dataDir != "" {
		opts = append(opts, rejoin.WithDataDir(f.dataDir), rejoin.WithSnapshotInterval(f.snapEvery))
	}
	ropts, closeRaft, err := raftOptions(f, logger, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin server: %v\n", err)
		return exitFailed
	}
	defer closeRaft()
	opts = append(opts, ropts...)
	var prom *metrics.Prometheus
	if f.metricsAddr != "" {
		var err error
		if prom, err = metrics.NewPrometheus(); err != nil {
			fmt.Fprintf(stderr, "rejoin server: metrics: %v\n", err)
			return exitFailed
		}
		opts = append(opts, rejoin.WithMetrics(prom.Sink))
		if f.dev {
			opts = append(opts, rejoin.WithGaugeInterval(devGaugeInterval))
		}
	}
	srv, err := rejoin.New(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin server: %v\n", err)
		return exitFailed
	}
	ln, err := net.Listen("tcp", f.bind)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin server: listen: %v\n", err)
		_ = srv.Stop()
		return exitFailed
	}
	var httpSrv *http.Server
	var metricsURL string
	if prom != nil {
		mln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			fmt.Fprintf(stderr, "rejoin server: metrics listen: %v\n", err)
			ln.Close()
			_ = srv.Stop()
			return exitFailed
		}
		metricsURL = "http://" + mln.Addr().String() + "/metrics"
		httpSrv = &http.Server{Handler: metrics.Handler(prom, f.pprof), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := httpSrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics listener failed", "error", err)
			}
		}()
	}
	if err := srv.Start(); err != nil {
		fmt.Fprintf(stderr, "rejoin server: %v\n", err)
		ln.Close()
		return exitFailed
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	printBanner(stdout, f, ln.Addr().String(), metricsURL, srv.Store().LatestIndex())

	code := exitOK
	select {
	case <-ctx.Done():
		logger.Info("signal received; shutting down")
	case err := <-served:
		logger.Error("RPC listener failed; shutting down", "error", err)
		code = exitFailed
	}
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			logger.Error("shutdown", "error", err)
			code = exitFailed
		}
	case <-time.After(serverStopTimeout):
		logger.Error("shutdown did not finish in time", "timeout", serverStopTimeout)
		code = exitFailed
	}
	if httpSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), metricsShutdownWait)
		_ = httpSrv.Shutdown(sctx)
		cancel()
	}
	if code == exitOK {
		fmt.Fprintln(stdout, "==> rejoin server stopped")
	}
	return code
}

// printBanner says where the server listens and how it is tuned. The
// "RPC address:" line is what scripts (and the end-to-end test) read.
func printBanner(w io.Writer, f serverFlags, addr, metricsURL string, index uint64) {
	mode := "persistent"
	if f.dev {
		mode = "dev"
	}
	store := "in memory (lost on exit)"
	if f.dataDir != "" {
		store = fmt.Sprintf("%s (restored at index %d)", f.dataDir, index)
	}
	ttl, grace, failover := heartbeat.DefaultMinHeartbeatTTL, heartbeat.DefaultHeartbeatGrace, heartbeat.DefaultFailoverHeartbeatTTL
	if f.dev {
		ttl, grace, failover = devMinHeartbeatTTL, devHeartbeatGrace, devFailoverTTL
	}
	fmt.Fprintf(w, "==> rejoin server started (%s mode, version %s)\n", mode, versionString())
	fmt.Fprintf(w, "    RPC address:    %s\n", addr)
	fmt.Fprintf(w, "    State:          %s\n", store)
	fmt.Fprintf(w, "    Heartbeat TTL:  min %s, grace %s, failover %s\n", ttl, grace, failover)
	if metricsURL != "" {
		pp := "off"
		if f.pprof {
			pp = "on"
		}
		fmt.Fprintf(w, "    Metrics:        %s (pprof %s)\n", metricsURL, pp)
	}
	if s, ok := w.(interface{ Sync() error }); ok {
		_ = s.Sync()
	}
}
