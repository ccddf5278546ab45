package structs

import (
	"errors"
	"fmt"
	"testing"

	"github.com/shoenig/test/must"
)

func TestValidateNodeTransition_AllPairs(t *testing.T) {
	statuses := []string{NodeStatusInit, NodeStatusReady, NodeStatusDisconnected, NodeStatusDown}
	valid := map[[2]string]bool{
		{NodeStatusInit, NodeStatusReady}:         true,
		{NodeStatusInit, NodeStatusDown}:          true,
		{NodeStatusReady, NodeStatusDisconnected}: true,
		{NodeStatusReady, NodeStatusDown}:         true,
		{NodeStatusDisconnected, NodeStatusReady}: true,
		{NodeStatusDisconnected, NodeStatusDown}:  true,
		{NodeStatusDown, NodeStatusReady}:         true,
	}
	for _, from := range statuses {
		for _, to := range statuses {
			err := ValidateNodeTransition(from, to)
			switch {
			case from == to:
				must.NoError(t, err, must.Sprintf("%s->%s is a no-op", from, to))
			case valid[[2]string{from, to}]:
				must.NoError(t, err, must.Sprintf("%s->%s", from, to))
			default:
				must.ErrorIs(t, err, ErrInvalidTransition, must.Sprintf("%s->%s", from, to))
				must.False(t, errors.Is(err, ErrInvalidNodeStatus))
				var te *NodeTransitionError
				must.True(t, errors.As(err, &te))
				must.Eq(t, from, te.From)
				must.Eq(t, to, te.To)
			}
		}
	}
}

func TestValidateNodeTransition_UnknownStatus(t *testing.T) {
	must.ErrorIs(t, ValidateNodeTransition(NodeStatusReady, "sleepy"), ErrInvalidNodeStatus)
	must.ErrorIs(t, ValidateNodeTransition("sleepy", NodeStatusReady), ErrInvalidNodeStatus)
	must.ErrorIs(t, ValidateNodeTransition(NodeStatusReady, ""), ErrInvalidNodeStatus)
	// A new node has no status yet: any real status is acceptable.
	must.NoError(t, ValidateNodeTransition("", NodeStatusInit))
}

func TestNode_EligibleAndCopy(t *testing.T) {
	n := &Node{ID: "n1", Status: NodeStatusReady, SchedulingEligibility: NodeSchedulingEligible}
	must.True(t, n.Eligible())
	must.True(t, n.Ready())
	c := n.Copy()
	c.Drain = true
	must.False(t, c.Eligible())
	must.True(t, n.Eligible())
	c.Drain = false
	c.SchedulingEligibility = NodeSchedulingIneligible
	must.False(t, c.Eligible())
	c.SchedulingEligibility = ""
	c.Status = NodeStatusDisconnected
	must.False(t, c.Eligible())
	must.True(t, ShouldDrainNode(NodeStatusDisconnected))
	must.True(t, ShouldDrainNode(NodeStatusDown))
	must.False(t, ShouldDrainNode(NodeStatusInit))
	must.Nil(t, (*Node)(nil).Copy())
}

func TestErrorCodes_RoundTripEverySentinel(t *testing.T) {
	extraErr := errors.New("extra")
	extra := []CodeEntry{{"extra", extraErr}}
	for _, c := range sentinelCodes {
		wrapped := fmt.Errorf("context: %w", c.Err)
		code := CodeOf(wrapped, extra...)
		must.Eq(t, c.Code, code)
		must.ErrorIs(t, ErrorOfCode(code, extra...), c.Err)
	}
	must.Eq(t, "extra", CodeOf(fmt.Errorf("x: %w", extraErr), extra...))
	must.Eq(t, extraErr, ErrorOfCode("extra", extra...))
	must.Eq(t, "", CodeOf(errors.New("plain")))
	must.Nil(t, ErrorOfCode("no-such-code"))
	// A typed error matches its sentinel's code.
	must.Eq(t, "invalid-transition", CodeOf(ValidateNodeTransition(NodeStatusDown, NodeStatusDisconnected)))
}
