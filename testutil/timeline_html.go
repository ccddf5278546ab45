package testutil

import (
	"bufio"
	"cmp"
	"fmt"
	"html"
	"io"
	"slices"
	"strings"
	"time"
)

// Colours of statuses in the timeline.
var timelineColours = map[string]string{
	"initializing": "#b0b0b0", "ready": "#3a9d3a", "disconnected": "#f0a030", "down": "#d03030",
	"pending": "#8ec5ff", "running": "#3a9d3a", "unknown": "#f0a030",
	"complete": "#707070", "failed": "#d03030", "lost": "#801818",
}

const (
	tlLabelW = 250
	tlPlotW  = 1000
	tlRowH   = 9
)

func timelineColour(status string) (string, float64) {
	base, stopped := strings.CutSuffix(status, "/stop")
	c, ok := timelineColours[base]
	if !ok {
		c = "#000"
	}
	if stopped {
		return c, 0.45 // the server wants it stopped; the client has not said so yet
	}
	return c, 1
}

// WriteHTML writes the timeline as one self-contained HTML page (inline SVG
// and CSS, no external assets): a row per node with its status over
// simulated time, then a row per alloc with its client status.
func (t *Timeline) WriteHTML(w io.Writer, title string) error {
	bw := bufio.NewWriter(w)
	end := t.End
	if !end.After(t.Start) {
		end = t.Start.Add(time.Second)
	}
	span := float64(end.Sub(t.Start))
	x := func(at time.Time) float64 { return tlLabelW + float64(at.Sub(t.Start))/span*tlPlotW }

	type row struct {
		label  string
		points []TimelinePoint
	}
	var nodes, allocs []row
	for _, id := range sortedKeys(t.Nodes) {
		nodes = append(nodes, row{id, t.Nodes[id]})
	}
	as := make([]*AllocTimeline, 0, len(t.Allocs))
	for _, a := range t.Allocs {
		as = append(as, a)
	}
	slices.SortFunc(as, func(a, b *AllocTimeline) int {
		if c := cmp.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	for _, a := range as {
		allocs = append(allocs, row{fmt.Sprintf("%s %s @%s", a.Name, a.ID, a.NodeID), a.Points})
	}

	fmt.Fprintf(bw, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>%s</title>
<style>
body{font:13px system-ui,sans-serif;margin:16px;color:#222}
h1{font-size:18px} h2{font-size:15px;margin-top:24px}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
svg text{font:8px monospace;fill:#333}
</style></head><body>
<h1>%s</h1>
<p>Simulated time %s → %s (%s). Hover a bar for its status and time.</p>
<div class="legend">`, html.EscapeString(title), html.EscapeString(title),
		t.Start.UTC().Format("15:04:05"), end.UTC().Format("15:04:05"), end.Sub(t.Start))
	for _, s := range []string{"initializing", "ready", "disconnected", "down", "pending", "running", "unknown", "complete", "failed", "lost"} {
		fmt.Fprintf(bw, `<span><i style="background:%s"></i>%s</span>`, timelineColours[s], s)
	}
	bw.WriteString(`<span><i style="background:#3a9d3a;opacity:.45"></i>…/stop: server wants it stopped</span></div>`)

	section := func(name string, rows []row) {
		fmt.Fprintf(bw, "<h2>%s (%d)</h2>\n", name, len(rows))
		h := (len(rows) + 2) * tlRowH
		fmt.Fprintf(bw, `<svg width="%d" height="%d">`+"\n", tlLabelW+tlPlotW+10, h+12)
		for m := 0; ; m += 10 { // a tick every 10 simulated minutes
			at := t.Start.Add(time.Duration(m) * time.Minute)
			if at.After(end) {
				break
			}
			fmt.Fprintf(bw, `<line x1="%.1f" y1="0" x2="%.1f" y2="%d" stroke="#ddd"/><text x="%.1f" y="%d">%dm</text>`+"\n",
				x(at), x(at), h, x(at)+2, h+10, m)
		}
		for i, r := range rows {
			y := i * tlRowH
			fmt.Fprintf(bw, `<text x="0" y="%d">%s</text>`, y+7, html.EscapeString(r.label))
			for j, p := range r.points {
				until := end
				if j+1 < len(r.points) {
					until = r.points[j+1].At
				}
				colour, opacity := timelineColour(p.Status)
				fmt.Fprintf(bw, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" fill-opacity="%.2f"><title>%s %s from %s</title></rect>`,
					x(p.At), y, max(x(until)-x(p.At), 0.5), tlRowH-1, colour, opacity,
					html.EscapeString(r.label), html.EscapeString(p.Status), p.At.Sub(t.Start).Truncate(time.Millisecond))
			}
			bw.WriteString("\n")
		}
		bw.WriteString("</svg>\n")
	}
	section("Nodes: status", nodes)
	section("Allocations: client status", allocs)
	bw.WriteString("</body></html>\n")
	return bw.Flush()
}
