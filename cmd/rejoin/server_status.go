package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/rejoinhq/rejoin/rpc"
)

// runServerStatus asks a running server for its index, state hash and
// object counts.
func runServerStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("server status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	pos, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "rejoin server status: unexpected arguments %q\n", pos)
		return exitBadInput
	}
	c, err := dial(cf.address)
	if err != nil {
		return failLine(stderr, "server status", cf.address, err)
	}
	defer c.Close()
	var st rpc.ServerStatusResponse
	if err := c.ServerStatus(&rpc.ServerStatusRequest{}, &st); err != nil {
		return failLine(stderr, "server status", cf.address, err)
	}
	if cf.json {
		return printJSON(stdout, st)
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 1, ' ', 0)
	fmt.Fprintf(tw, "Leader\t= %t\n", st.Leader)
	fmt.Fprintf(tw, "Index\t= %d\n", st.LatestIndex)
	fmt.Fprintf(tw, "State hash\t= %s\n", st.StateHash)
	fmt.Fprintf(tw, "Nodes\t= %d (%s)\n", st.Nodes, countsString(st.NodesByStatus))
	fmt.Fprintf(tw, "Jobs\t= %d\n", st.Jobs)
	fmt.Fprintf(tw, "Allocs\t= %d\n", st.Allocs)
	fmt.Fprintf(tw, "Evals\t= %d (%d pending)\n", st.Evals, st.PendingEvals)
	tw.Flush()
	return exitOK
}
