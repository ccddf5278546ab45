package rejoin_test

import (
	"fmt"
	"net"
	"time"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/structs"
)

// broker stands in for a scheduler's own evaluation broker.
type broker chan *structs.Evaluation

func (b broker) Enqueue(evals ...*structs.Evaluation) {
	for _, e := range evals {
		b <- e
	}
}

// A scheduler with its own broker takes evaluations out with
// WithEvalQueue and runs each with Evaluate when it chooses; the built-in
// worker stays off.
func ExampleWithEvalQueue() {
	queue := make(broker, 16)
	srv, err := rejoin.New(rejoin.WithEvalQueue(queue), rejoin.WithIDGenerator(counter()))
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	defer srv.Stop()

	n1 := client{srv, "n1", "secret-1"}
	n1.register()
	if _, err := srv.RegisterJob(webJob()); err != nil {
		panic(err)
	}

	eval := <-queue // delivered by the server once it is written
	fmt.Println("broker got", eval.TriggeredBy, "for", eval.JobID)
	res, err := srv.Evaluate(eval)
	if err != nil {
		panic(err)
	}
	for _, d := range res.Decisions {
		fmt.Println(d.Kind, d.AllocID, "on", d.NodeID)
	}
	done, _ := srv.Store().EvalByID(nil, eval.ID)
	fmt.Println("eval", done.Status)
	// Output:
	// broker got job-register for web
	// place a-02 on n1
	// eval complete
}

// Serve exposes the same endpoints over TCP (msgpack net/rpc): clients,
// and the job and operator calls the rejoin CLI makes.
func ExampleServer_Serve() {
	srv, err := rejoin.New()
	if err != nil {
		panic(err)
	}
	if err := srv.Start(); err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer srv.Stop()

	c, err := rpc.NewClient(rpc.ClientConfig{Addr: ln.Addr().String(), Timeout: 5 * time.Second})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	var reg rpc.JobRegisterResponse
	if err := c.JobRegister(&rpc.JobRegisterRequest{Job: webJob()}, &reg); err != nil {
		panic(err)
	}
	var got rpc.JobGetResponse
	if err := c.JobGet(&rpc.JobSpecificRequest{JobID: "web"}, &got); err != nil {
		panic(err)
	}
	fmt.Println(got.Job.ID, "lost_after", got.Job.TaskGroups[0].Disconnect.LostAfter)

	err = c.JobGet(&rpc.JobSpecificRequest{JobID: "nope"}, &got)
	fmt.Println(err)
	// Output:
	// web lost_after 5m0s
	// unknown job "nope"
}
