package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at link time with -ldflags "-X main.version=..."; otherwise
// the module version from the build info is used.
var version = ""

func init() {
	register(command{
		name:     "version",
		synopsis: "print rejoin's version",
		run: func(_ []string, stdout, _ io.Writer) int {
			fmt.Fprintf(stdout, "rejoin %s\n", versionString())
			return 0
		},
	})
}

func versionString() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
