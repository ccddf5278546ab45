package metrics

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gometrics "github.com/hashicorp/go-metrics"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

func TestRuleOf(t *testing.T) {
	cases := map[string]string{
		"row 9 (node back, client reported: reconnecting) of a2: best_score": "row_9",
		"row 14 (node down: lost) → stop as lost":                            "row_14",
		"step 7: 3 pending/running exceed count 2":                           "step_7",
		"system: node \"n1\" is ready":                                       "system",
		"disconnect timeout at 2026-01-01T00:15:00Z":                         "disconnect",
		"":                              "other",
		"→ stop":                        "other",
		"row x":                         "row",
		"Job stopped":                   "job",
		"averyveryveryveryverylongword": "averyveryveryveryverylon",
	}
	for in, want := range cases {
		must.Eq(t, want, RuleOf(in), must.Sprint(in))
	}
}

func TestErrorReason(t *testing.T) {
	must.Eq(t, "node-not-ready", ErrorReason(fmt.Errorf("x: %w", structs.ErrNodeNotReady)))
	must.Eq(t, "permission-denied", ErrorReason(structs.ErrPermissionDenied))
	must.Eq(t, "invalid-request", ErrorReason(structs.ErrInvalidRequest))
	must.Eq(t, "internal", ErrorReason(errors.New("boom")))
}

// counter sums a counter over the sink's intervals (keys carry the
// service prefix and ";label=value" pairs).
func counter(sink *gometrics.InmemSink, key string) float64 {
	var n float64
	for _, iv := range sink.Data() {
		iv.RLock()
		if c, ok := iv.Counters[key]; ok {
			n += c.Sum
		}
		iv.RUnlock()
	}
	return n
}

func TestRecorder_InmemSink(t *testing.T) {
	sink := gometrics.NewInmemSink(time.Hour, time.Hour)
	r := New(sink)
	r.IncrCounter("heartbeat.reset", 2)
	r.IncrCounter("heartbeat.reset", 1)
	r.AllocUpdate(3, map[string]int{structs.SkipUnknownAlloc: 1})
	r.AllocRejected(structs.ErrNodeNotReady)
	r.Decision("reconnect", "row_9")
	r.Evaluated(5*time.Millisecond, 1)
	r.NodesByStatus(map[string]int{"ready": 2}, "ready", "down")

	must.Eq(t, 3.0, counter(sink, "rejoin.heartbeat.reset"))
	must.Eq(t, 3.0, counter(sink, "rejoin.rpc.alloc_update.accepted"))
	must.Eq(t, 1.0, counter(sink, "rejoin.rpc.alloc_update.skipped;reason="+structs.SkipUnknownAlloc))
	must.Eq(t, 1.0, counter(sink, "rejoin.rpc.alloc_update.rejected;reason=node-not-ready"))
	must.Eq(t, 1.0, counter(sink, "rejoin.reconcile.decisions;kind=reconnect;rule=row_9"))
	must.Eq(t, 1.0, counter(sink, "rejoin.reconcile.unplaced"))
	iv := sink.Data()[0]
	must.Eq(t, float32(2), iv.Gauges["rejoin.nodes.status;status=ready"].Value)
	must.Eq(t, float32(0), iv.Gauges["rejoin.nodes.status;status=down"].Value)
}

func TestRecorder_NilDiscards(t *testing.T) {
	var r *Recorder
	r.IncrCounter("x", 1)
	r.Decision("place", "row_7")
	r.EvalQueue(1, 2)
	New(nil).IncrCounter("x", 1) // blackhole
}

func TestPrometheus_ScrapeAndPprof(t *testing.T) {
	p, err := NewPrometheus()
	must.NoError(t, err)
	r := New(p.Sink)
	r.IncrCounter("heartbeat.reset", 4)
	r.Decision("place", "row_7")

	for _, withPprof := range []bool{false, true} {
		srv := httptest.NewServer(Handler(p, withPprof))
		body := get(t, srv.URL+"/metrics", 200)
		must.StrContains(t, body, "rejoin_heartbeat_reset 4")
		must.StrContains(t, body, `rejoin_reconcile_decisions{kind="place",rule="row_7"} 1`)
		must.StrContains(t, body, "go_goroutines")
		code := 404
		if withPprof {
			code = 200
		}
		get(t, srv.URL+"/debug/pprof/", code)
		srv.Close()
	}
	// A second sink in the same process has its own registry.
	_, err = NewPrometheus()
	must.NoError(t, err)
}

func get(t *testing.T, url string, code int) string {
	t.Helper()
	resp, err := http.Get(url)
	must.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must.NoError(t, err)
	must.Eq(t, code, resp.StatusCode, must.Sprint(url))
	return strings.TrimSpace(string(b))
}
