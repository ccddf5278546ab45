// Package replicated runs the state store on hashicorp/raft so the engine
// survives the loss of a server: every write (structs.MessageType plus its
// msgpack payload, the command design the store already has) becomes one
// raft log entry, applied on every server by state.FSM at the entry's
// index.
//
// Its one job is the seam between the engine and raft:
//
//   - Replica.ApplyCommand is the Writer every component already writes
//     through (heartbeat, rpc, reconcile): on the leader it is raft.Apply
//     and waits for the FSM's response; on a follower it forwards the
//     encoded entry to the leader (a Router reaches it), so a write is
//     applied once, by the leader's log, wherever it was issued.
//   - Replica.NodeAPI wraps the client endpoints: a follower forwards each
//     call to the leader (heartbeat timers live only there), except a
//     blocking GetClientAllocs with AllowStale, served from the local store.
//   - Leadership drives the rest: on gaining it (after a barrier, so every
//     earlier entry is applied) Config.OnLeader runs — the server starts
//     tracking heartbeats with the failover TTL and starts its eval worker;
//     on losing it Config.OnFollower runs — timers cleared, worker stopped,
//     so a follower never marks a node down.
//
// Transports: InmemNetwork (raft's in-memory transport plus in-process
// forwarding) for tests and benchmarks; NewTCPTransport (raft's TCP
// transport and the forwarding RPC multiplexed on one loopback or LAN
// port) for `rejoin server --peers`.
package replicated
