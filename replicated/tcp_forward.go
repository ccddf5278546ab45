package replicated

import (
	"errors"
	"fmt"
	"net/rpc"

	"github.com/hashicorp/raft"

	rjrpc "github.com/rejoinhq/rejoin/rpc"
	"github.com/rejoinhq/rejoin/structs"
)

// Forwarded calls. Wire format: part of the cluster protocol.
const (
	fwdApply           = "apply"
	fwdRegister        = "Node.Register"
	fwdUpdateStatus    = "Node.UpdateStatus"
	fwdUpdateAlloc     = "Node.UpdateAlloc"
	fwdGetClientAllocs = "Node.GetClientAllocs"
)

// ForwardArgs is one forwarded call: a raft entry to apply, or a client
// call (Args is its msgpack request).
type ForwardArgs struct {
	Method string
	Entry  []byte
	Args   []byte
}

// ForwardReply carries the result, or the error as a code the caller
// turns back into the same sentinel.
type ForwardReply struct {
	Index   uint64
	Result  []byte // apply: msgpack result (AllocUpdateResult) or empty
	Reply   []byte // client call: msgpack reply
	ErrCode string
	ErrMsg  string
	Leader  string
}

// forwardCodes add the replication errors to structs' sentinel codes for
// the forwarding RPC (structs.CodeOf/ErrorOfCode). Never rename one: part of
// the cluster protocol.
var forwardCodes = []structs.CodeEntry{
	{Code: "not-leader", Err: ErrNotLeader},
	{Code: "leadership-lost", Err: ErrLeadershipLost},
	{Code: "internal", Err: rjrpc.ErrInternal},
}

// RemoteError is an error a forwarded call returned. It matches the
// sentinel the leader's error matched.
type RemoteError struct {
	Code, Message string
	err           error
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap returns the sentinel.
func (e *RemoteError) Unwrap() error { return e.err }

func encodeErr(err error, reply *ForwardReply) {
	reply.ErrCode, reply.ErrMsg = structs.CodeOf(err, forwardCodes...), err.Error()
	if reply.ErrCode == "" {
		reply.ErrCode = "internal"
	}
	var nl *NotLeaderError
	if errors.As(err, &nl) {
		reply.Leader = string(nl.Leader)
	}
}

func decodeErr(reply *ForwardReply) error {
	if reply.ErrCode == "" {
		return nil
	}
	if reply.ErrCode == "not-leader" {
		return &NotLeaderError{Leader: raft.ServerAddress(reply.Leader)}
	}
	if sentinel := structs.ErrorOfCode(reply.ErrCode, forwardCodes...); sentinel != nil {
		return &RemoteError{Code: reply.ErrCode, Message: reply.ErrMsg, err: sentinel}
	}
	return &RemoteError{Code: "internal", Message: reply.ErrMsg, err: rjrpc.ErrInternal}
}

// forwardService serves forwarded calls on the leader.
type forwardService struct{ n *TCPNetwork }

// Call runs one forwarded call against the local peer.
func (s *forwardService) Call(args *ForwardArgs, reply *ForwardReply) error {
	s.n.mu.Lock()
	p := s.n.peer
	s.n.mu.Unlock()
	if p == nil {
		encodeErr(&NotLeaderError{}, reply)
		return nil
	}
	if err := serveForward(p, args, reply); err != nil {
		encodeErr(err, reply)
	}
	return nil
}

func serveForward(p Peer, args *ForwardArgs, reply *ForwardReply) error {
	if args.Method == fwdApply {
		idx, res, err := p.Apply(args.Entry)
		if err != nil {
			return err
		}
		reply.Index = idx
		if res != nil {
			b, err := structs.Marshal(res)
			if err != nil {
				return err
			}
			reply.Result = b
		}
		return nil
	}
	api := p.Node()
	var out any
	var err error
	switch args.Method {
	case fwdRegister:
		out, err = callNode(args.Args, api.Register)
	case fwdUpdateStatus:
		out, err = callNode(args.Args, api.UpdateStatus)
	case fwdUpdateAlloc:
		out, err = callNode(args.Args, api.UpdateAlloc)
	case fwdGetClientAllocs:
		out, err = callNode(args.Args, api.GetClientAllocs)
	default:
		return fmt.Errorf("%w: unknown forwarded method %q", structs.ErrInvalidRequest, args.Method)
	}
	if err != nil {
		return err
	}
	reply.Reply, err = structs.Marshal(out)
	return err
}

func callNode[A, R any](raw []byte, fn func(*A, *R) error) (*R, error) {
	args := new(A)
	if err := structs.Unmarshal(raw, args); err != nil {
		return nil, fmt.Errorf("%w: %w", structs.ErrDecode, err)
	}
	reply := new(R)
	if err := fn(args, reply); err != nil {
		return nil, err
	}
	return reply, nil
}

// tcpRouter reaches other members' forwarding service.
type tcpRouter struct{ n *TCPNetwork }

func (r tcpRouter) Peer(addr raft.ServerAddress) (Peer, error) {
	return &tcpPeer{n: r.n, addr: addr}, nil
}

type tcpPeer struct {
	n    *TCPNetwork
	addr raft.ServerAddress
}

func (p *tcpPeer) call(args *ForwardArgs) (*ForwardReply, error) {
	c, err := p.n.client(p.addr)
	if err != nil {
		return nil, err
	}
	var reply ForwardReply
	if err := c.Call("Forward.Call", args, &reply); err != nil {
		if errors.Is(err, rpc.ErrShutdown) || !isServerError(err) {
			p.n.drop(p.addr, c)
		}
		return nil, fmt.Errorf("replicated: forward to %s: %w", p.addr, err)
	}
	return &reply, decodeErr(&reply)
}

func isServerError(err error) bool {
	var se rpc.ServerError
	return errors.As(err, &se)
}

func (p *tcpPeer) Apply(entry []byte) (uint64, any, error) {
	reply, err := p.call(&ForwardArgs{Method: fwdApply, Entry: entry})
	if err != nil {
		return 0, nil, err
	}
	var res any
	if len(reply.Result) > 0 && len(entry) > 0 && structs.MessageType(entry[0]) == structs.AllocClientUpdateRequestType {
		r := new(structs.AllocUpdateResult)
		if err := structs.Unmarshal(reply.Result, r); err != nil {
			return 0, nil, fmt.Errorf("%w: forwarded result: %w", structs.ErrDecode, err)
		}
		res = r
	}
	return reply.Index, res, nil
}

func (p *tcpPeer) Node() rjrpc.NodeAPI { return tcpNode{p} }

// tcpNode is the leader's client endpoints over the forwarding RPC.
type tcpNode struct{ p *tcpPeer }

func forwardNode[A, R any](p *tcpPeer, method string, args *A, reply *R) error {
	raw, err := structs.Marshal(args)
	if err != nil {
		return fmt.Errorf("%w: %w", structs.ErrInvalidRequest, err)
	}
	out, err := p.call(&ForwardArgs{Method: method, Args: raw})
	if err != nil {
		return err
	}
	if err := structs.Unmarshal(out.Reply, reply); err != nil {
		return fmt.Errorf("%w: forwarded reply: %w", structs.ErrDecode, err)
	}
	return nil
}

func (t tcpNode) Register(a *structs.NodeRegisterRequest, r *structs.NodeUpdateResponse) error {
	return forwardNode(t.p, fwdRegister, a, r)
}

func (t tcpNode) UpdateStatus(a *structs.NodeUpdateStatusRequest, r *structs.NodeUpdateResponse) error {
	return forwardNode(t.p, fwdUpdateStatus, a, r)
}

func (t tcpNode) UpdateAlloc(a *structs.AllocUpdateRequest, r *structs.AllocUpdateResponse) error {
	return forwardNode(t.p, fwdUpdateAlloc, a, r)
}

func (t tcpNode) GetClientAllocs(a *structs.NodeSpecificRequest, r *structs.NodeClientAllocsResponse) error {
	return forwardNode(t.p, fwdGetClientAllocs, a, r)
}
