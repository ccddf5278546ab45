package rpc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// simClient is one simulated client node: it knows what the server must
// make of each of its calls, because nothing but this client changes its
// node (there is no heartbeat expiry in this test).
type simClient struct {
	id     string
	api    NodeAPI
	rng    *rand.Rand
	status string            // the node's status as the server holds it
	allocs map[string]string // alloc -> client status as the server holds it

	accepted map[string]string // description -> alloc, applied
	rejected []string          // descriptions refused or skipped
	last     map[string]string // alloc -> last applied description
}

const (
	simClients   = 1000
	simOps       = 12
	simAllocsPer = 2
)

// TestConcurrency_ManyClientsOverTCP runs 1,000 simulated clients, each on
// its own TCP connection, heartbeating and updating allocs in random order
// for a fixed number of operations. Every accepted update must be in the
// command log exactly once and in the final state if it was the last for
// its alloc; every refused or skipped one must be nowhere.
func TestConcurrency_ManyClientsOverTCP(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	st, err := state.NewStore(nil)
	must.NoError(t, err)
	var logMu sync.Mutex // protects applied
	var applied [][]byte
	st.SetCommandSink(func(_ uint64, typ structs.MessageType, payload []byte) {
		if typ == structs.AllocClientUpdateRequestType {
			logMu.Lock()
			applied = append(applied, append([]byte(nil), payload...))
			logMu.Unlock()
		}
	})
	_, _, err = st.ApplyCommand(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: testJob("web")})
	must.NoError(t, err)
	node, err := NewNode(Config{Store: st, Heartbeats: newFakeHeartbeats(), Clock: clock.System{},
		BatchWindow: 2 * time.Millisecond, Logger: hclog.NewNullLogger()})
	must.NoError(t, err)
	defer node.Close()
	env := startServer(t, node, func(c *ServerConfig) { c.Logger = hclog.NewNullLogger() })

	start := time.Now()
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	sims := make([]*simClient, simClients)
	var placed []*structs.Allocation
	for i := range sims {
		// Generous timeouts: on a loaded 2-core machine under -race a call
		// can wait seconds, and a timed-out call leaves this client's model
		// of the server unknowable.
		c := newTestClient(t, env.addr, func(cc *ClientConfig) {
			cc.Timeout = 2 * time.Minute
			cc.DialTimeout = time.Minute
		})
		s := &simClient{id: fmt.Sprintf("n%04d", i), api: c, rng: rand.New(rand.NewPCG(seed, uint64(i))),
			allocs: map[string]string{}, accepted: map[string]string{}, last: map[string]string{}}
		var r structs.NodeUpdateResponse
		must.NoError(t, c.Register(&structs.NodeRegisterRequest{Node: &structs.Node{ID: s.id, SecretID: secretOf(s.id)}}, &r))
		s.status = structs.NodeStatusInit
		for j := range simAllocsPer {
			a := testAlloc(fmt.Sprintf("%s-a%d", s.id, j), "web", s.id, structs.AllocClientStatusPending)
			placed = append(placed, a)
			s.allocs[a.ID] = structs.AllocClientStatusPending
		}
		sims[i] = s
	}
	_, _, err = st.ApplyCommand(structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Now: time.Now(), AllocsPlaced: placed})
	must.NoError(t, err)

	t.Logf("setup done %v", time.Since(start))
	var wg sync.WaitGroup
	errs := make(chan error, simClients)
	for _, s := range sims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for op := range simOps {
				if err := s.step(op); err != nil {
					errs <- fmt.Errorf("%s op %d: %w", s.id, op, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow() // a client stopped early: its model says nothing about the store
	}

	t.Logf("ops done %v", time.Since(start))
	// Every applied description, counted over the command log.
	seen := map[string]int{}
	for _, p := range applied {
		var req structs.AllocUpdateRequest
		must.NoError(t, structs.Unmarshal(p, &req))
		must.Eq(t, "", req.SecretID) // secrets never reach the log
		for _, a := range req.Alloc {
			seen[a.ClientDescription]++
		}
	}
	var nAccepted, nRejected int
	for _, s := range sims {
		for desc := range s.accepted {
			must.Eq(t, 1, seen[desc], must.Sprintf("accepted update %s", desc))
			nAccepted++
		}
		for _, desc := range s.rejected {
			must.Eq(t, 0, seen[desc], must.Sprintf("refused update %s", desc))
			nRejected++
		}
		n, err := st.NodeByID(nil, s.id)
		must.NoError(t, err)
		must.Eq(t, s.status, n.Status)
		for id, status := range s.allocs {
			a, err := st.AllocByID(nil, id)
			must.NoError(t, err)
			must.Eq(t, status, a.ClientStatus)
			if d, ok := s.last[id]; ok {
				must.Eq(t, d, a.ClientDescription)
			}
		}
	}
	must.Eq(t, nAccepted, len(seenKeys(seen)))
	must.Eq(t, 0, node.locks.size())
	t.Logf("%d accepted, %d refused or skipped, %d batched writes", nAccepted, nRejected, len(applied))
	must.Positive(t, nAccepted)
	must.Positive(t, nRejected)
	must.Less(t, nAccepted, len(applied)) // batching merged writes
}

func seenKeys(m map[string]int) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

var simStatuses = []string{structs.AllocClientStatusPending, structs.AllocClientStatusRunning,
	structs.AllocClientStatusRunning, structs.AllocClientStatusComplete, structs.AllocClientStatusFailed}

// step performs one random operation and checks the server's answer
// against what this client knows.
func (s *simClient) step(op int) error {
	switch p := s.rng.IntN(100); {
	case p < 30: // heartbeat, sometimes going down and back
		to := structs.NodeStatusReady
		if s.status == structs.NodeStatusReady && p < 4 {
			to = structs.NodeStatusDown
		}
		var r structs.NodeUpdateResponse
		if err := s.api.UpdateStatus(&structs.NodeUpdateStatusRequest{NodeID: s.id, SecretID: secretOf(s.id), Status: to}, &r); err != nil {
			return err
		}
		s.status = to
	case p < 40: // a hostile caller with the wrong secret
		desc := fmt.Sprintf("%s-op%d-forged", s.id, op)
		u := report(s.id+"-a0", structs.AllocClientStatusRunning)
		u.ClientDescription = desc
		err := s.api.UpdateAlloc(update(s.id, "forged", u), &structs.AllocUpdateResponse{})
		if !errors.Is(err, structs.ErrPermissionDenied) {
			return fmt.Errorf("forged update: got %v", err)
		}
		s.rejected = append(s.rejected, desc)
	case p < 48:
		var r structs.NodeClientAllocsResponse
		if err := s.api.GetClientAllocs(&structs.NodeSpecificRequest{NodeID: s.id, SecretID: secretOf(s.id)}, &r); err != nil {
			return err
		}
		if len(r.Allocs) != simAllocsPer {
			return fmt.Errorf("GetClientAllocs: %d allocs", len(r.Allocs))
		}
	default: // report allocs
		var reports []*structs.Allocation
		for j := range simAllocsPer {
			if s.rng.IntN(2) == 0 && j > 0 {
				continue
			}
			u := report(fmt.Sprintf("%s-a%d", s.id, j), simStatuses[s.rng.IntN(len(simStatuses))])
			u.ClientDescription = fmt.Sprintf("%s-op%d-a%d", s.id, op, j)
			reports = append(reports, u)
		}
		var r structs.AllocUpdateResponse
		err := s.api.UpdateAlloc(&structs.AllocUpdateRequest{NodeID: s.id, SecretID: secretOf(s.id), Alloc: reports}, &r)
		if s.status != structs.NodeStatusReady {
			if !errors.Is(err, structs.ErrNodeNotReady) {
				return fmt.Errorf("update from a %s node: got %v", s.status, err)
			}
			for _, u := range reports {
				s.rejected = append(s.rejected, u.ClientDescription)
			}
			return nil
		}
		if err != nil {
			return err
		}
		skipped := map[string]bool{}
		for _, sk := range r.Skipped {
			if sk.Reason != structs.SkipClientTerminal {
				return fmt.Errorf("unexpected skip %+v", sk)
			}
			skipped[sk.AllocID] = true
		}
		for _, u := range reports {
			held := s.allocs[u.ID]
			wantSkip := structs.ClientTerminalStatus(held) && held != u.ClientStatus
			if wantSkip != skipped[u.ID] {
				return fmt.Errorf("alloc %s held %s, reported %s: skipped=%v", u.ID, held, u.ClientStatus, skipped[u.ID])
			}
			if wantSkip {
				s.rejected = append(s.rejected, u.ClientDescription)
				continue
			}
			s.allocs[u.ID] = u.ClientStatus
			s.accepted[u.ClientDescription] = u.ID
			s.last[u.ID] = u.ClientDescription
		}
	}
	return nil
}
