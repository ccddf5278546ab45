//go:build race

package cmdlog

// raceEnabled: the race detector slows the store ~10x; big tests shrink.
const raceEnabled = true
