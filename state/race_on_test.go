//go:build race

package state

// raceEnabled: the race detector slows the store ~10x; big tests shrink.
const raceEnabled = true
