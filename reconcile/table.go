package reconcile

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatTable renders results as a readable table, one decision a line,
// each with its reason.
func FormatTable(r *Results) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "DECISION\tALLOC / NAME\tDETAIL\tREASON")
	for _, p := range r.Place {
		detail := "group " + p.TaskGroup
		if p.PreviousAllocation != "" {
			detail += ", replaces " + p.PreviousAllocation
		}
		if p.NodeID != "" {
			detail += ", node " + p.NodeID
		}
		fmt.Fprintf(w, "place\t%s\t%s\t%s\n", p.Name, detail, p.Reason)
	}
	for _, s := range r.Stop {
		detail := s.Description
		if s.ClientStatus != "" {
			detail = "client status " + s.ClientStatus + ", " + detail
		}
		fmt.Fprintf(w, "stop\t%s\t%s\t%s\n", s.AllocID, detail, s.Reason)
	}
	for _, d := range r.Disconnect {
		fmt.Fprintf(w, "disconnect\t%s\t\t%s\n", d.AllocID, d.Reason)
	}
	for _, d := range r.Reconnect {
		fmt.Fprintf(w, "reconnect\t%s\t\t%s\n", d.AllocID, d.Reason)
	}
	for _, d := range r.Update {
		fmt.Fprintf(w, "update\t%s\t\t%s\n", d.AllocID, d.Reason)
	}
	for _, f := range r.FollowUps {
		detail := f.TriggeredBy + " at " + f.WaitUntil.UTC().Format(time.RFC3339)
		if len(f.AllocIDs) > 0 {
			detail += " for " + strings.Join(f.AllocIDs, ",")
		}
		fmt.Fprintf(w, "follow-up\t%s\t%s\t%s\n", f.TaskGroup, detail, f.Reason)
	}
	w.Flush()
	if len(r.Place)+len(r.Stop)+len(r.Disconnect)+len(r.Reconnect)+len(r.Update)+len(r.FollowUps) == 0 {
		b.WriteString("(no decisions)\n")
	}
	return b.String()
}
