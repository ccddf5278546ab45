package main

import (
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/rejoinhq/rejoin/rpc"
)

func init() {
	register(command{
		name:     "node",
		synopsis: "inspect nodes of a running server: node status [ID] [--json]",
		run: func(args []string, stdout, stderr io.Writer) int {
			return subcommands("node", map[string]func([]string, io.Writer, io.Writer) int{
				"status": runNodeStatus,
			}, args, stdout, stderr)
		},
	})
}

// runNodeStatus lists every node, or shows one node (ID or unique prefix):
// status, last heartbeat, TTL and its allocs by client status.
func runNodeStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("node status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rejoin node status [ID] [--address ADDR] [--json]")
		fs.PrintDefaults()
	}
	pos, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	if len(pos) > 1 {
		fmt.Fprintf(stderr, "rejoin node status: expected at most one node ID, got %d arguments\n", len(pos))
		return exitBadInput
	}
	c, err := dial(cf.address)
	if err != nil {
		return failLine(stderr, "node status", cf.address, err)
	}
	defer c.Close()
	if len(pos) == 0 {
		var list rpc.NodeListResponse
		if err := c.NodeList(&rpc.NodeListRequest{}, &list); err != nil {
			return failLine(stderr, "node status", cf.address, err)
		}
		if cf.json {
			return printJSON(stdout, list)
		}
		tw := tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tDC\tSTATUS\tLAST HEARTBEAT\tTTL\tALLOCS")
		for _, n := range list.Nodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Node.ID, n.Node.Datacenter, n.Node.Status,
				timeString(n.LastHeartbeat), ttlString(n), countsString(n.AllocsByStatus))
		}
		tw.Flush()
		return exitOK
	}
	var info rpc.NodeInfo
	if err := c.NodeGet(&rpc.NodeGetRequest{NodeID: pos[0]}, &info); err != nil {
		return failLine(stderr, "node status", cf.address, err)
	}
	if cf.json {
		return printJSON(stdout, info)
	}
	n := info.Node
	tw := tabwriter.NewWriter(stdout, 0, 2, 1, ' ', 0)
	fmt.Fprintf(tw, "ID\t= %s\n", n.ID)
	fmt.Fprintf(tw, "Name\t= %s\n", n.Name)
	fmt.Fprintf(tw, "Datacenter\t= %s\n", n.Datacenter)
	fmt.Fprintf(tw, "Status\t= %s\n", n.Status)
	fmt.Fprintf(tw, "Eligibility\t= %s\n", n.SchedulingEligibility)
	fmt.Fprintf(tw, "Last heartbeat\t= %s\n", timeString(info.LastHeartbeat))
	fmt.Fprintf(tw, "Heartbeat TTL\t= %s\n", ttlString(&info))
	fmt.Fprintf(tw, "Deadline\t= %s\n", timeString(info.HeartbeatDeadline))
	fmt.Fprintf(tw, "Allocs\t= %s\n", countsString(info.AllocsByStatus))
	tw.Flush()
	if len(info.Allocs) > 0 {
		fmt.Fprintln(stdout)
		printAllocTable(stdout, info.Allocs)
	}
	return exitOK
}

func ttlString(n *rpc.NodeInfo) string {
	if n.HeartbeatTTL == 0 {
		return "-"
	}
	return n.HeartbeatTTL.String()
}

// printAllocTable prints allocation stubs as a table.
func printAllocTable(w io.Writer, allocs []*rpc.AllocStub) {
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "ALLOC\tNAME\tNODE\tVERSION\tDESIRED\tCLIENT\tPREVIOUS\tNEXT")
	for _, a := range allocs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.NodeID, a.JobVersion,
			a.DesiredStatus, a.ClientStatus, dash(a.PreviousAllocation), dash(a.NextAllocation))
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
