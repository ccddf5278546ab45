package heartbeat

import (
	"slices"
	"time"
)

// RateScaledTTL is the base TTL for n tracked nodes: at least min, and long
// enough that n clients heartbeating once per TTL send at most perSecond
// heartbeats a second.
func RateScaledTTL(n int, min time.Duration, perSecond float64) time.Duration {
	if perSecond <= 0 {
		return min
	}
	scaled := time.Duration(float64(n) / perSecond * float64(time.Second))
	return max(min, scaled)
}

// Staggered adds a random stagger in [0, ttl) to ttl; u is uniform in [0, 1).
// The result lies in [ttl, 2*ttl), which spreads the fleet's heartbeats.
func Staggered(ttl time.Duration, u float64) time.Duration {
	return ttl + time.Duration(u*float64(ttl))
}

func slicesSort(s []string) { slices.Sort(s) }
