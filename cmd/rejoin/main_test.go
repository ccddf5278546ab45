package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

func TestRun_Version(t *testing.T) {
	var out, errb bytes.Buffer
	must.Eq(t, 0, run([]string{"version"}, &out, &errb))
	must.StrHasPrefix(t, "rejoin ", out.String())
}

func TestRun_UnknownCommandExits2(t *testing.T) {
	var out, errb bytes.Buffer
	must.Eq(t, 2, run([]string{"nope"}, &out, &errb))
	must.Eq(t, "", out.String())
	must.True(t, strings.Contains(errb.String(), `unknown command "nope"`))
}

func TestRun_NoArgsPrintsUsage(t *testing.T) {
	var out, errb bytes.Buffer
	must.Eq(t, 2, run(nil, &out, &errb))
	must.True(t, strings.Contains(errb.String(), "version"))
}
