package reconcile

import (
	"time"

	"github.com/rejoinhq/rejoin/structs"
)

// class is where the classification table puts an allocation.
type class uint8

const (
	classIgnored       class = iota // server-terminal, or of a group the job lacks
	classReconnecting               // rows 1, 9
	classUntainted                  // rows 2, 4, 10, 12
	classAwaitingSync               // row 8
	classDisconnecting              // rows 7, 13
	classLost                       // rows 5, 6, 11, 14
	classExpiring                   // row 3
)

// rowText names each row of the classification table for reasons.
var rowText = [...]string{
	1:  "row 1 (unknown last, failed now: reconnecting)",
	2:  "row 2 (client-terminal: untainted)",
	3:  "row 3 (unknown past lost_after: expiring)",
	4:  "row 4 (unknown on disconnected node: waiting)",
	5:  "row 5 (pending on disconnected node: lost)",
	6:  "row 6 (disconnected node, no lost_after: lost)",
	7:  "row 7 (disconnected node: disconnecting)",
	8:  "row 8 (node back, client not yet synced: awaiting client sync)",
	9:  "row 9 (node back, client reported: reconnecting)",
	10: "row 10 (node ready: untainted)",
	11: "row 11 (node gone: lost)",
	12: "row 12 (unknown on down node, replace=false: untainted)",
	13: "row 13 (running on down node, replace=false: disconnecting)",
	14: "row 14 (node down: lost)",
}

// classify applies the table of SCENARIOS.md to a non-server-terminal
// alloc: the first matching row wins.
func classify(a *structs.Allocation, node *structs.Node, tg *structs.TaskGroup, lostAfter time.Duration, now time.Time) (class, int8) {
	needs := a.NeedsToReconnect()
	cs := a.ClientStatus
	switch {
	case needs && a.DesiredStatus == structs.AllocDesiredStatusRun && cs == structs.AllocClientStatusFailed:
		return classReconnecting, 1
	case structs.ClientTerminalStatus(cs) && !needs:
		return classUntainted, 2
	case a.Expired(now, lostAfter):
		return classExpiring, 3
	}
	if node == nil {
		return classLost, 11
	}
	switch node.Status {
	case structs.NodeStatusDisconnected:
		switch {
		case cs == structs.AllocClientStatusUnknown:
			return classUntainted, 4
		case cs == structs.AllocClientStatusPending:
			return classLost, 5
		case lostAfter == 0:
			return classLost, 6
		}
		return classDisconnecting, 7
	case structs.NodeStatusReady, structs.NodeStatusInit:
		switch {
		case needs && cs == structs.AllocClientStatusUnknown:
			return classAwaitingSync, 8
		case needs:
			return classReconnecting, 9
		}
		return classUntainted, 10
	}
	// Down (or a status Compute does not know, treated as down).
	replace := tg.Replace()
	switch {
	case !replace && cs == structs.AllocClientStatusUnknown:
		return classUntainted, 12
	case !replace && cs == structs.AllocClientStatusRunning:
		return classDisconnecting, 13
	}
	return classLost, 14
}
