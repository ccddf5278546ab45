package rpc

import "github.com/rejoinhq/rejoin/structs"

// NodeAPI is the client-facing surface of the server. *Node is the
// in-process transport (direct calls, used by the simulator); *Client is
// the TCP one. Both return errors matching the structs sentinels.
type NodeAPI interface {
	Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error
	UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error
	UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) error
	GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error
}
