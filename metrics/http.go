package metrics

import (
	"net/http"
	"net/http/pprof"

	gmprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Prometheus is a go-metrics sink exported in the Prometheus text format
// from its own registry (never the global one, so tests and embedders can
// create several).
type Prometheus struct {
	Sink     *gmprom.PrometheusSink
	Registry *prometheus.Registry
}

// NewPrometheus returns a sink whose metrics never expire (counters keep
// counting between scrapes) in a fresh registry that also holds the Go
// runtime and process collectors.
func NewPrometheus() (*Prometheus, error) {
	reg := prometheus.NewRegistry()
	sink, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{
		Name:       "rejoin_metrics_sink",
		Expiration: 0,
		Registerer: reg,
	})
	if err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewGoCollector()); err != nil {
		return nil, err
	}
	if err := reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
		return nil, err
	}
	return &Prometheus{Sink: sink, Registry: reg}, nil
}

// Handler serves /metrics from p and, when withPprof, the net/http/pprof
// endpoints under /debug/pprof/. pprof exposes stacks and lets a caller
// burn CPU on profiles: turn it on only on a trusted address.
func Handler(p *Prometheus, withPprof bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(p.Registry, promhttp.HandlerOpts{}))
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}
