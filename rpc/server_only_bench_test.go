package rpc

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// BenchmarkTCPAllocUpdatesServerOnly is BenchmarkTCPAllocUpdates
// (group-commit) with the client's encoding taken out: 100 raw TCP
// connections each write a pre-encoded Node.UpdateAlloc request and read its
// response's bytes (no decoding but the error field), so the process's CPU
// is the server's: framing, request decoding, validation, batching, the
// store write and the response.
func BenchmarkTCPAllocUpdatesServerOnly(b *testing.B) {
	for _, per := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("allocs-per-call=%d", per), func(b *testing.B) {
			env := newBenchEnv(b, -1, per, 0)
			frames := make([][]byte, benchClients)
			for i := range frames {
				id := fmt.Sprintf("n%03d", i)
				req := &structs.AllocUpdateRequest{NodeID: id, SecretID: secretOf(id)}
				for j := range per {
					req.Alloc = append(req.Alloc, report(fmt.Sprintf("%s-a%d", id, j), structs.AllocClientStatusRunning))
				}
				frames[i] = encodeRequest(b, uint64(i), "Node.UpdateAlloc", req)
			}
			conns := make([]*frameConn, benchClients)
			for i := range conns {
				c, err := net.Dial("tcp", env.addr)
				must.NoError(b, err)
				b.Cleanup(func() { c.Close() })
				conns[i] = newFrameConn(c, DefaultMaxMessageSize)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Value
			b.ReportAllocs()
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i, fc := range conns {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var resp []any
					dec := codec.NewDecoderBytes(nil, structs.MsgpackHandle)
					for next.Add(1) <= int64(b.N) {
						if _, err := fc.Write(frames[i]); err != nil {
							failed.Store(err)
							return
						}
						if err := fc.Flush(); err != nil {
							failed.Store(err)
							return
						}
						if err := fc.next(); err != nil {
							failed.Store(err)
							return
						}
						// [1, seq, error, result]: only the error is read.
						dec.ResetBytes(fc.buf)
						resp = resp[:0]
						if err := dec.Decode(&resp); err != nil || len(resp) != 4 || resp[2] != nil {
							failed.Store(fmt.Errorf("response %v: %w", resp, err))
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed, cpu := time.Since(start), cpuTime()-cpu0
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			reportRates(b, elapsed, cpu, per)
		})
	}
}
