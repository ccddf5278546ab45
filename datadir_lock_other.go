//go:build !unix

package rejoin

import "os"

// lockDataDir does not lock on this platform: keep one server per data
// directory by hand.
func lockDataDir(string) (*os.File, error) { return nil, nil }
