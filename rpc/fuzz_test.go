package rpc

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// nonBlocking keeps fuzz inputs from parking in a blocking query.
type nonBlocking struct{ NodeAPI }

func (n nonBlocking) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	if args != nil {
		args.MinQueryIndex = 0
	}
	return n.NodeAPI.GetClientAllocs(args, reply)
}

// newFuzzServer serves a store with ready node n1 and its alloc a1.
func newFuzzServer(t testing.TB) *Server {
	st, err := state.NewStore(nil)
	must.NoError(t, err)
	mustApply := func(typ structs.MessageType, req any) {
		_, _, err := st.ApplyCommand(typ, req)
		must.NoError(t, err)
	}
	mustApply(structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: &structs.Node{
		ID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}})
	mustApply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob("web")})
	mustApply(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: t0,
		AllocsPlaced: []*structs.Allocation{testAlloc("a1", "web", "n1", structs.AllocClientStatusPending)}})
	node, err := NewNode(Config{Store: st, Heartbeats: newFakeHeartbeats(), Clock: clock.System{}, BatchWindow: -1})
	must.NoError(t, err)
	srv, err := NewServer(nonBlocking{node}, ServerConfig{MaxMessageSize: 4 << 10})
	must.NoError(t, err)
	return srv
}

// bufRWC lets a client codec write into a buffer.
type bufRWC struct{ bytes.Buffer }

func (*bufRWC) Close() error { return nil }

// encodeRequest returns the wire bytes of one msgpack-rpc request.
func encodeRequest(t testing.TB, seq uint64, method string, body any) []byte {
	var b bufRWC
	cc := codec.MsgpackSpecRpc.ClientCodec(&b, structs.MsgpackHandle)
	must.NoError(t, cc.WriteRequest(&rpc.Request{Seq: seq, ServiceMethod: method}, body))
	return b.Bytes()
}

func fuzzSeeds(t testing.TB) map[string][]byte {
	hb := encodeRequest(t, 1, "Node.UpdateStatus", &structs.NodeUpdateStatusRequest{
		NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady})
	up := encodeRequest(t, 2, "Node.UpdateAlloc", update("n1", secretOf("n1"), report("a1", structs.AllocClientStatusRunning)))
	deep := append([]byte{0x94, 0x00, 0x01, 0xb0}, []byte("Node.UpdateAlloc")...)
	deep = append(deep, bytes.Repeat([]byte{0x91}, 2000)...)
	return map[string][]byte{
		"heartbeat":   hb,
		"alloc":       up,
		"register":    encodeRequest(t, 3, "Node.Register", &structs.NodeRegisterRequest{Node: &structs.Node{ID: "n2", SecretID: "s2"}}),
		"allocs":      encodeRequest(t, 4, "Node.GetClientAllocs", &structs.NodeSpecificRequest{NodeID: "n1", SecretID: secretOf("n1")}),
		"pipelined":   append(append([]byte{}, hb...), up...),
		"unknown":     encodeRequest(t, 5, "Node.Nope", &structs.GenericResponse{Index: 1}),
		"wrongbody":   encodeRequest(t, 6, "Node.UpdateAlloc", map[string]any{"Alloc": "not a list", "NodeID": 7}),
		"truncated":   up[:len(up)/2],
		"huge-string": {0x94, 0x00, 0x01, 0xa1, 'x', 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff},
		"huge-array":  {0x94, 0x00, 0x01, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff},
		"reserved":    {0xc1},
		"deep":        deep,
		"empty":       {},
	}
}

// FuzzServerCodec feeds arbitrary bytes to a server connection: the
// server must not panic, and must end the connection cleanly once the
// input is exhausted or found bad.
func FuzzServerCodec(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	srv := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		client, server := net.Pipe()
		served := make(chan struct{})
		go func() {
			srv.ServeConn(server)
			close(served)
		}()
		drained := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, client)
			close(drained)
		}()
		_, _ = client.Write(data) // fails if the server already hung up
		client.Close()
		<-served
		<-drained
		_, err := server.Write([]byte{0})
		must.ErrorIs(t, err, io.ErrClosedPipe) // the server closed its end
	})
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzServerCodec when
// REJOIN_WRITE_CORPUS=1; otherwise it checks the committed corpus is there.
func TestWriteFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzServerCodec")
	seeds := fuzzSeeds(t)
	if os.Getenv("REJOIN_WRITE_CORPUS") == "1" {
		must.NoError(t, os.MkdirAll(dir, 0o755))
		for name, b := range seeds {
			body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
			must.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		}
	}
	entries, err := os.ReadDir(dir)
	must.NoError(t, err)
	must.GreaterEq(t, len(seeds), len(entries))
}
