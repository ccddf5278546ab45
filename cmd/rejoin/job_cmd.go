package main

import (
	"flag"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/rejoinhq/rejoin/rpc"
)

func init() {
	register(command{
		name:     "job",
		synopsis: "submit, stop and inspect jobs on a running server: job run FILE.json | job stop ID | job status ID",
		run: func(args []string, stdout, stderr io.Writer) int {
			return subcommands("job", map[string]func([]string, io.Writer, io.Writer) int{
				"run":    runJobRun,
				"stop":   runJobStop,
				"status": runJobStatus,
			}, args, stdout, stderr)
		},
	})
}

// jobArgs parses a job subcommand's flags and its one positional argument.
func jobArgs(sub, what string, args []string, stderr io.Writer) (clientFlags, string, int, bool) {
	fs := flag.NewFlagSet("job "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf clientFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: rejoin job %s %s [--address ADDR] [--json]\n", sub, what)
		fs.PrintDefaults()
	}
	pos, code, ok := parseInterleaved(fs, args)
	if !ok {
		return cf, "", code, false
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "rejoin job %s: expected one %s\n", sub, what)
		return cf, "", exitBadInput, false
	}
	return cf, pos[0], 0, true
}

// runJobRun submits a job file: the server validates it and creates a
// job-register evaluation.
func runJobRun(args []string, stdout, stderr io.Writer) int {
	cf, path, code, ok := jobArgs("run", "FILE.json", args, stderr)
	if !ok {
		return code
	}
	job, err := loadJobFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "rejoin job run: %s: %s\n", path, flatten(err.Error()))
		return exitFailed
	}
	c, err := dial(cf.address)
	if err != nil {
		return failLine(stderr, "job run", cf.address, err)
	}
	defer c.Close()
	var reply rpc.JobRegisterResponse
	if err := c.JobRegister(&rpc.JobRegisterRequest{Job: job}, &reply); err != nil {
		return failLine(stderr, "job run", cf.address, err)
	}
	if cf.json {
		return printJSON(stdout, reply)
	}
	fmt.Fprintf(stdout, "Job %q registered: version %d, evaluation %s (index %d)\n", job.ID, reply.JobVersion, reply.EvalID, reply.Index)
	return exitOK
}

// runJobStop stops a job: its allocations are stopped by the evaluation
// this creates.
func runJobStop(args []string, stdout, stderr io.Writer) int {
	cf, id, code, ok := jobArgs("stop", "JOB_ID", args, stderr)
	if !ok {
		return code
	}
	c, err := dial(cf.address)
	if err != nil {
		return failLine(stderr, "job stop", cf.address, err)
	}
	defer c.Close()
	var reply rpc.JobDeregisterResponse
	if err := c.JobDeregister(&rpc.JobDeregisterRequest{JobID: id}, &reply); err != nil {
		return failLine(stderr, "job stop", cf.address, err)
	}
	if cf.json {
		return printJSON(stdout, reply)
	}
	fmt.Fprintf(stdout, "Job %q stopped: evaluation %s (index %d)\n", id, reply.EvalID, reply.Index)
	return exitOK
}

// runJobStatus shows a job, its allocations and its evaluations.
func runJobStatus(args []string, stdout, stderr io.Writer) int {
	cf, id, code, ok := jobArgs("status", "JOB_ID", args, stderr)
	if !ok {
		return code
	}
	c, err := dial(cf.address)
	if err != nil {
		return failLine(stderr, "job status", cf.address, err)
	}
	defer c.Close()
	var st rpc.JobStatusResponse
	if err := c.JobStatus(&rpc.JobSpecificRequest{JobID: id}, &st); err != nil {
		return failLine(stderr, "job status", cf.address, err)
	}
	if cf.json {
		return printJSON(stdout, st)
	}
	j := st.Job
	status := "running"
	if j.Stop {
		status = "stopped"
	}
	tw := tabwriter.NewWriter(stdout, 0, 2, 1, ' ', 0)
	fmt.Fprintf(tw, "ID\t= %s\n", j.ID)
	fmt.Fprintf(tw, "Namespace\t= %s\n", j.Namespace)
	fmt.Fprintf(tw, "Type\t= %s\n", j.Type)
	fmt.Fprintf(tw, "Version\t= %d\n", j.Version)
	fmt.Fprintf(tw, "Status\t= %s\n", status)
	tw.Flush()

	fmt.Fprintln(stdout, "\nTask groups (allocs the server wants running, by client status)")
	tw = tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tCOUNT\tLOST AFTER\tREPLACE\tRECONCILE\tALLOCS")
	for _, tg := range j.TaskGroups {
		lost := "-"
		if d := tg.LostAfter(); d > 0 {
			lost = d.String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%t\t%s\t%s\n", tg.Name, tg.Count, lost, tg.Replace(), tg.ReconcileStrategy(), countsString(st.Summary[tg.Name]))
	}
	tw.Flush()

	if len(st.Allocs) > 0 {
		fmt.Fprintln(stdout, "\nAllocations")
		printAllocTable(stdout, st.Allocs)
	}
	if len(st.Evals) > 0 {
		evals := st.Evals
		sort.SliceStable(evals, func(i, k int) bool { return evals[i].CreateIndex < evals[k].CreateIndex })
		fmt.Fprintln(stdout, "\nEvaluations")
		tw = tabwriter.NewWriter(stdout, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "EVAL\tTRIGGERED BY\tSTATUS\tWAIT UNTIL\tNODE")
		for _, e := range evals {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.ID, e.TriggeredBy, e.Status, timeString(e.WaitUntil), dash(e.NodeID))
		}
		tw.Flush()
	}
	return exitOK
}
