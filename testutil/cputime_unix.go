//go:build unix

package testutil

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) the process used so far: what
// a storm costs regardless of what else the machine is running.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
