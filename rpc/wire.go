package rpc

import (
	"fmt"
	"runtime/debug"

	"github.com/hashicorp/go-hclog"

	"github.com/rejoinhq/rejoin/structs"
)

// wireNode is the "Node" service net/rpc dispatches to. It carries errors
// across as "[code] message" strings (see wireCodes) and turns a handler
// panic into an internal error instead of a crashed server.
type wireNode struct {
	api    NodeAPI
	logger hclog.Logger
}

func (w *wireNode) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) (err error) {
	defer w.recover("Node.Register", &err)
	return wireError(w.api.Register(args, reply))
}

func (w *wireNode) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) (err error) {
	defer w.recover("Node.UpdateStatus", &err)
	return wireError(w.api.UpdateStatus(args, reply))
}

func (w *wireNode) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) (err error) {
	defer w.recover("Node.UpdateAlloc", &err)
	return wireError(w.api.UpdateAlloc(args, reply))
}

func (w *wireNode) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) (err error) {
	defer w.recover("Node.GetClientAllocs", &err)
	return wireError(w.api.GetClientAllocs(args, reply))
}

func (w *wireNode) recover(method string, err *error) {
	if r := recover(); r != nil {
		w.logger.Error("handler panicked", "method", method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = encodeWireError(fmt.Errorf("%w: %s", ErrInternal, method))
	}
}

func wireError(err error) error {
	if err == nil {
		return nil
	}
	return encodeWireError(err)
}
