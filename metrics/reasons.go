package metrics

import (
	"errors"
	"strings"

	"github.com/rejoinhq/rejoin/structs"
)

// errorReasons maps a rejection to its label; the names are the codes the
// TCP transport uses for the same sentinels.
var errorReasons = []struct {
	err    error
	reason string
}{
	{structs.ErrNodeNotReady, "node-not-ready"},
	{structs.ErrPermissionDenied, "permission-denied"},
	{structs.ErrUnknownNode, "unknown-node"},
	{structs.ErrUnknownAlloc, "unknown-alloc"},
	{structs.ErrInvalidRequest, "invalid-request"},
	{structs.ErrDecode, "decode"},
}

// ErrorReason returns a short, bounded label for a rejection.
func ErrorReason(err error) string {
	for _, r := range errorReasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "internal"
}

// RuleOf returns the rule label of a decision reason: "row_N" or "step_N"
// for the reasons that start with a table row or a reconciler step, else
// the reason's first word ("system", "disconnect", ...), lower case,
// letters and digits only, at most 24 characters; "other" if empty. Reasons
// are written by code, so the set of labels is bounded.
func RuleOf(reason string) string {
	fields := strings.Fields(reason)
	if len(fields) == 0 {
		return "other"
	}
	first := strings.ToLower(fields[0])
	if (first == "row" || first == "step") && len(fields) > 1 {
		if n := digits(fields[1]); n != "" {
			return first + "_" + n
		}
	}
	var b strings.Builder
	for _, r := range first {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			b.WriteRune(r)
			if b.Len() >= 24 {
				break
			}
		} else if b.Len() > 0 {
			break
		}
	}
	if b.Len() == 0 {
		return "other"
	}
	return b.String()
}

// digits returns the leading decimal digits of s.
func digits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}
