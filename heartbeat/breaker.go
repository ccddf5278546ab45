package heartbeat

import (
	"time"

	"github.com/rejoinhq/rejoin/clock"
)

// dcState is one datacenter's tracked count and mass-disconnect breaker.
// Every field is protected by Heartbeater.mu.
type dcState struct {
	name    string
	tracked int         // nodes of the datacenter in the tracker
	window  []time.Time // expiries of live nodes within the last window

	open      bool
	epoch     uint64 // bumps on every close, so a stale hold timer does nothing
	holdUntil time.Time
	holdTimer clock.Timer
	held      map[string]struct{}
	// lastClose and lastHoldUntil chain holds that re-open soon after a
	// resume: the hold bound then still counts from the first opening, so
	// a flapping datacenter cannot be held forever.
	lastClose     time.Time
	lastHoldUntil time.Time
}

// breakerWindow is one TTL window: the longest interval a client may have
// been told (stagger makes it < 2×TTL) plus grace, so every node of a
// datacenter the server lost contact with expires within one window.
func (h *Heartbeater) breakerWindow() time.Duration {
	return 2*h.baseTTL() + h.cfg.HeartbeatGrace
}

// breakerFilter counts the expiries of live nodes per datacenter, opens the
// breaker of any datacenter where strictly more than BreakerFraction of its
// nodes expired within one window, holds the nodes of open datacenters, and
// returns the nodes to process now.
func (h *Heartbeater) breakerFilter(fresh []expiredNode, now time.Time) []expiredNode {
	if h.cfg.BreakerDisabled || len(fresh) == 0 {
		return fresh
	}
	window := h.breakerWindow()
	h.mu.Lock()
	defer h.mu.Unlock()
	byDC := map[int][]expiredNode{}
	var order []int
	for _, e := range fresh {
		i := h.dcLocked(e.node.Datacenter)
		if _, ok := byDC[i]; !ok {
			order = append(order, i)
		}
		byDC[i] = append(byDC[i], e)
	}
	var process []expiredNode
	for _, i := range order {
		dc, nodes := h.dcs[i], byDC[i]
		cut := 0
		for cut < len(dc.window) && now.Sub(dc.window[cut]) >= window {
			cut++
		}
		dc.window = dc.window[cut:]
		for range nodes {
			dc.window = append(dc.window, now)
		}
		expired := len(dc.window)
		population := dc.tracked + expired
		if !dc.open && population >= h.cfg.BreakerMinNodes &&
			float64(expired) > h.cfg.BreakerFraction*float64(population) {
			h.openLocked(i, now, expired, population)
		}
		if !dc.open {
			process = append(process, nodes...)
			continue
		}
		for _, e := range nodes {
			dc.held[e.id] = struct{}{}
		}
		h.cfg.Metrics.IncrCounter(MetricHeld, len(nodes))
		h.log.Warn("mass-disconnect breaker holding expired nodes", "datacenter", dc.name,
			"held", len(dc.held), "tracked", dc.tracked)
	}
	return process
}

func (h *Heartbeater) openLocked(i int, now time.Time, expired, population int) {
	dc := h.dcs[i]
	dc.holdUntil = now.Add(h.cfg.BreakerMaxHold)
	if !dc.lastClose.IsZero() && now.Sub(dc.lastClose) < h.breakerWindow() && dc.lastHoldUntil.Before(dc.holdUntil) {
		dc.holdUntil = dc.lastHoldUntil
	}
	if !dc.holdUntil.After(now) {
		return // this datacenter used up its hold: process normally
	}
	dc.open = true
	epoch := dc.epoch
	dc.holdTimer = h.cfg.Clock.AfterFunc(dc.holdUntil.Sub(now), func() { h.endHold(i, epoch) })
	n := h.openHolds.Add(1)
	h.cfg.Metrics.IncrCounter(MetricBreakerOpened, 1)
	h.cfg.Metrics.SetGauge(MetricBreakerOpen, float64(n))
	h.log.Error("mass-disconnect breaker OPEN: holding node status changes, suspecting a server-side partition",
		"datacenter", dc.name, "expired", expired, "tracked", population, "hold_until", dc.holdUntil)
}

// closeLocked closes dc's breaker and returns its held nodes.
func (h *Heartbeater) closeLocked(i int, now time.Time, reason string) []string {
	dc := h.dcs[i]
	if dc.holdTimer != nil {
		dc.holdTimer.Stop()
		dc.holdTimer = nil
	}
	held := make([]string, 0, len(dc.held))
	for id := range dc.held {
		held = append(held, id)
	}
	dc.open = false
	dc.epoch++
	dc.held = map[string]struct{}{}
	dc.window = nil
	dc.lastClose, dc.lastHoldUntil = now, dc.holdUntil
	n := h.openHolds.Add(-1)
	h.cfg.Metrics.IncrCounter(MetricBreakerClosed, 1)
	h.cfg.Metrics.SetGauge(MetricBreakerOpen, float64(n))
	h.log.Warn("mass-disconnect breaker closed", "datacenter", dc.name, "reason", reason, "held", len(held))
	return held
}

// heartbeatDuringHold closes the breaker of the datacenter holding nodeID,
// if any: heartbeats resumed, so every held node gets a fresh TTL.
func (h *Heartbeater) heartbeatDuringHold(nodeID string) {
	now := h.cfg.Clock.Now()
	h.mu.Lock()
	var held []string
	dcName := ""
	for i, dc := range h.dcs {
		if _, ok := dc.held[nodeID]; ok && dc.open {
			held = h.closeLocked(i, now, "heartbeats resumed")
			dcName = dc.name
			break
		}
	}
	h.mu.Unlock()
	gen := h.leader.Load()
	h.leaderMu.RLock()
	defer h.leaderMu.RUnlock()
	for _, id := range held {
		if id != nodeID {
			h.retrack(id, dcName, h.clientTTL()+h.cfg.HeartbeatGrace, gen)
		}
	}
}

// endHold runs when a hold reaches BreakerMaxHold: the held nodes are
// processed as ordinary expiries.
func (h *Heartbeater) endHold(i int, epoch uint64) {
	gen := h.leader.Load()
	if gen&1 == 0 {
		return
	}
	now := h.cfg.Clock.Now()
	h.mu.Lock()
	if i >= len(h.dcs) || h.dcs[i].epoch != epoch || !h.dcs[i].open {
		h.mu.Unlock()
		return
	}
	held := h.closeLocked(i, now, "maximum hold reached")
	h.mu.Unlock()
	slicesSort(held)
	for _, id := range held {
		h.invalidate(id, gen, now)
	}
}
