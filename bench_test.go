package rejoin_test

import (
	"fmt"
	"testing"
	"time"

	gometrics "github.com/hashicorp/go-metrics"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/structs"
)

// BenchmarkServer_Heartbeat measures a plain heartbeat (UpdateStatus,
// status unchanged: no write) through the embedded server's endpoints over
// 1,000 registered nodes, with and without an in-memory metrics sink.
func BenchmarkServer_Heartbeat(b *testing.B) {
	for _, withMetrics := range []bool{false, true} {
		b.Run(fmt.Sprintf("metrics=%t", withMetrics), func(b *testing.B) {
			opts := []rejoin.Option{rejoin.WithAllocBatchWindow(-1)}
			if withMetrics {
				opts = append(opts, rejoin.WithMetrics(gometrics.NewInmemSink(10*time.Second, time.Minute)))
			}
			srv, err := rejoin.New(opts...)
			if err != nil {
				b.Fatal(err)
			}
			if err := srv.Start(); err != nil {
				b.Fatal(err)
			}
			defer srv.Stop()
			const nodes = 1000
			reqs := make([]*structs.NodeUpdateStatusRequest, nodes)
			for i := range nodes {
				c := client{srv, fmt.Sprintf("n%04d", i), fmt.Sprintf("s%04d", i)}
				c.register()
				reqs[i] = &structs.NodeUpdateStatusRequest{NodeID: c.id, SecretID: c.secret, Status: structs.NodeStatusReady}
			}
			api := srv.Endpoints()
			b.ReportAllocs()
			b.ResetTimer()
			var resp structs.NodeUpdateResponse
			for i := 0; i < b.N; i++ {
				if err := api.UpdateStatus(reqs[i%nodes], &resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
