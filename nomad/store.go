package nomad

import (
	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/state"
	"github.com/rejoinhq/rejoin/structs"
)

// Store builds a fresh rejoin store holding the import exactly as Nomad had
// it (statuses, AllocStates and indexes kept; no command semantics), at
// im.Index. It loads deep copies, so im stays usable.
func (im *Import) Store(logger hclog.Logger) (*state.Store, error) {
	objs := state.Objects{
		Nodes:  copyAll(im.Nodes, (*structs.Node).Copy),
		Jobs:   copyAll(im.Jobs, (*structs.Job).Copy),
		Allocs: copyAll(im.Allocs, (*structs.Allocation).Copy),
		Evals:  copyAll(im.Evals, (*structs.Evaluation).Copy),
	}
	return state.LoadStore(objs, im.Index, logger)
}

func copyAll[T any](in []*T, cp func(*T) *T) []*T {
	out := make([]*T, len(in))
	for i, v := range in {
		out[i] = cp(v)
	}
	return out
}
