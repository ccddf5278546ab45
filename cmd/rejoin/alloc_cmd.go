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
		name:     "alloc",
		synopsis: "inspect an allocation of a running server: alloc status ID [--json]",
		run: func(args []string, stdout, stderr io.Writer) int {
			return subcommands("alloc", map[string]func([]string, io.Writer, io.Writer) int{
				"status": runAllocStatus,
			}, args, stdout, stderr)
		},
	})
}

// runAllocStatus shows one allocation (ID or unique prefix): client and
// desired status, the AllocState history with times, the replacement
// chain and the last decision's reason.
func runAllocStatus(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("alloc status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: rejoin alloc status ID [--address ADDR] [--json]")
		fs.PrintDefaults()
	}
	pos, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "rejoin alloc status: expected one alloc ID")
		return exitBadInput
	}
	c, err := dial(cf.address)
	if err != nil {
		return failLine(stderr, "alloc status", cf.address, err)
	}
	defer c.Close()
	var info rpc.AllocInfo
	if err := c.AllocGet(&rpc.AllocGetRequest{AllocID: pos[0]}, &info); err != nil {
		return failLine(stderr, "alloc status", cf.address, err)
	}
	if cf.json {
		return printJSON(stdout, info)
	}
	a := info.Alloc
	tw := tabwriter.NewWriter(stdout, 0, 2, 1, ' ', 0)
	fmt.Fprintf(tw, "ID\t= %s\n", a.ID)
	fmt.Fprintf(tw, "Name\t= %s\n", a.Name)
	fmt.Fprintf(tw, "Node\t= %s\n", a.NodeID)
	fmt.Fprintf(tw, "Job\t= %s (version %d), group %s\n", a.JobID, a.JobVersion, a.TaskGroup)
	fmt.Fprintf(tw, "Desired\t= %s%s\n", a.DesiredStatus, paren(a.DesiredDescription))
	fmt.Fprintf(tw, "Client\t= %s%s\n", a.ClientStatus, paren(a.ClientDescription))
	fmt.Fprintf(tw, "Follow-up eval\t= %s\n", dash(a.FollowupEvalID))
	if d := info.LastDecision; d != nil {
		fmt.Fprintf(tw, "Last decision\t= %s at %s (eval %s, index %d)\n", d.Kind, timeString(d.Time), d.EvalID, d.Index)
		fmt.Fprintf(tw, "Reason\t= %s\n", d.Reason)
	} else {
		fmt.Fprintf(tw, "Last decision\t= - (none by this server since it started)\n")
	}
	tw.Flush()

	fmt.Fprintln(stdout, "\nAllocState history")
	tw = tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tFIELD\tVALUE")
	for _, s := range a.AllocStates {
		if s != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", timeString(s.Time), s.Field, s.Value)
		}
	}
	tw.Flush()

	fmt.Fprintln(stdout, "\nReplacement chain (oldest first)")
	printAllocTable(stdout, info.Chain)
	return exitOK
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
