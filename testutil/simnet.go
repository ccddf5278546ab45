package testutil

import (
	"math/rand/v2"
	"slices"
	"time"
)

// NetConfig shapes the simulated network.
type NetConfig struct {
	// MinDelay and MaxDelay bound one leg of a message. Each link gets a
	// seeded base delay in that range; each message adds a seeded jitter
	// of up to half of it, so messages on one link can overtake each other.
	MinDelay, MaxDelay time.Duration
	// DropRate is the chance that one leg of a message is lost.
	DropRate float64
}

// DefaultNetConfig is a LAN with an occasional lost packet.
var DefaultNetConfig = NetConfig{MinDelay: time.Millisecond, MaxDelay: 40 * time.Millisecond, DropRate: 0.002}

// NetStats counts what the network did.
type NetStats struct {
	Sent, Delivered, Dropped, Cut int
}

// Network is a simulated network between clients (by node ID) and the
// server. Messages are timers on the simulation's FakeClock, so they are
// delivered in (deadline, send order): deterministic for a seed. It is not
// safe for concurrent use: a simulation runs in one goroutine.
type Network struct {
	clk   *FakeClock
	rng   *rand.Rand
	cfg   NetConfig
	base  map[string]time.Duration // per-link base delay
	cut   map[string]bool          // partitioned links
	Stats NetStats
}

// NewNetwork returns a fully connected network.
func NewNetwork(clk *FakeClock, rng *rand.Rand, cfg NetConfig) *Network {
	if cfg.MaxDelay < cfg.MinDelay {
		cfg.MaxDelay = cfg.MinDelay
	}
	return &Network{clk: clk, rng: rng, cfg: cfg, base: map[string]time.Duration{}, cut: map[string]bool{}}
}

// Partition cuts the links of nodes: messages in flight on them are lost
// and new ones are not delivered until Heal.
func (n *Network) Partition(nodes ...string) {
	for _, id := range nodes {
		n.cut[id] = true
	}
}

// Heal restores the links of nodes.
func (n *Network) Heal(nodes ...string) {
	for _, id := range nodes {
		delete(n.cut, id)
	}
}

// HealAll restores every link.
func (n *Network) HealAll() { clear(n.cut) }

// Partitioned reports whether node's link is cut.
func (n *Network) Partitioned(node string) bool { return n.cut[node] }

// PartitionedNodes returns the cut links, sorted.
func (n *Network) PartitionedNodes() []string {
	out := make([]string, 0, len(n.cut))
	for id := range n.cut {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (n *Network) delay(node string) time.Duration {
	b, ok := n.base[node]
	if !ok {
		b = n.cfg.MinDelay
		if span := n.cfg.MaxDelay - n.cfg.MinDelay; span > 0 {
			b += time.Duration(n.rng.Int64N(int64(span)))
		}
		n.base[node] = b
	}
	if b > 1 {
		b += time.Duration(n.rng.Int64N(int64(b/2) + 1))
	}
	return b
}

// Send delivers f on node's link after the link's delay, unless the leg is
// dropped or the link is cut at send or delivery time. It reports whether
// the message left (it may still be cut in flight).
func (n *Network) Send(node string, f func()) bool {
	n.Stats.Sent++
	if n.cut[node] {
		n.Stats.Cut++
		return false
	}
	if n.cfg.DropRate > 0 && n.rng.Float64() < n.cfg.DropRate {
		n.Stats.Dropped++
		return false
	}
	n.clk.AfterFunc(n.delay(node), func() {
		if n.cut[node] {
			n.Stats.Cut++
			return
		}
		n.Stats.Delivered++
		f()
	})
	return true
}

// Call is a request/response exchange on node's link. server runs on the
// server when the request arrives and returns the continuation to run on the
// client when the reply arrives (nil: no reply, e.g. the server is
// unavailable). If no reply arrives within timeout, onTimeout runs instead.
// Exactly one of the continuation and onTimeout runs, at most once.
func (n *Network) Call(node string, timeout time.Duration, server func() func(), onTimeout func()) {
	done := false
	deadline := n.clk.Now().Add(timeout)
	timer := n.clk.AfterFunc(timeout, func() {
		if !done {
			done = true
			onTimeout()
		}
	})
	n.Send(node, func() {
		reply := server()
		if reply == nil {
			return
		}
		n.Send(node, func() {
			if done || n.clk.Now().After(deadline) {
				return
			}
			done = true
			timer.Stop()
			reply()
		})
	})
}
