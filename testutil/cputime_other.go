//go:build !unix

package testutil

import "time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
