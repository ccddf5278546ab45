//go:build !race

package cmdlog

const raceEnabled = false
