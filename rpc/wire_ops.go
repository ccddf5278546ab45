package rpc

import (
	"net/rpc"

	"github.com/hashicorp/go-hclog"
)

// wireJob is the "Job" service.
type wireJob struct {
	api    JobAPI
	logger hclog.Logger
}

func (w *wireJob) recover(method string, err *error) {
	(&wireNode{logger: w.logger}).recover(method, err)
}

func (w *wireJob) Register(args *JobRegisterRequest, reply *JobRegisterResponse) (err error) {
	defer w.recover("Job.Register", &err)
	return wireError(w.api.Register(args, reply))
}

func (w *wireJob) Deregister(args *JobDeregisterRequest, reply *JobDeregisterResponse) (err error) {
	defer w.recover("Job.Deregister", &err)
	return wireError(w.api.Deregister(args, reply))
}

func (w *wireJob) Get(args *JobSpecificRequest, reply *JobGetResponse) (err error) {
	defer w.recover("Job.Get", &err)
	return wireError(w.api.Get(args, reply))
}

func (w *wireJob) Status(args *JobSpecificRequest, reply *JobStatusResponse) (err error) {
	defer w.recover("Job.Status", &err)
	return wireError(w.api.Status(args, reply))
}

// wireNodeOps is the "Node" service when operator endpoints are served:
// the client endpoints plus Node.Get and Node.List.
type wireNodeOps struct {
	*wireNode
	ops OperatorAPI
}

func (w *wireNodeOps) Get(args *NodeGetRequest, reply *NodeInfo) (err error) {
	defer w.recover("Node.Get", &err)
	return wireError(w.ops.NodeGet(args, reply))
}

func (w *wireNodeOps) List(args *NodeListRequest, reply *NodeListResponse) (err error) {
	defer w.recover("Node.List", &err)
	return wireError(w.ops.NodeList(args, reply))
}

// wireAlloc is the "Alloc" service.
type wireAlloc struct {
	ops    OperatorAPI
	logger hclog.Logger
}

func (w *wireAlloc) Get(args *AllocGetRequest, reply *AllocInfo) (err error) {
	defer (&wireNode{logger: w.logger}).recover("Alloc.Get", &err)
	return wireError(w.ops.AllocGet(args, reply))
}

// wireOperator is the "Operator" service.
type wireOperator struct {
	ops    OperatorAPI
	logger hclog.Logger
}

func (w *wireOperator) Status(args *ServerStatusRequest, reply *ServerStatusResponse) (err error) {
	defer (&wireNode{logger: w.logger}).recover("Operator.Status", &err)
	return wireError(w.ops.ServerStatus(args, reply))
}

// registerServices registers the Node service (with the operator reads
// when cfg.Operator is set) and the Job, Alloc and Operator services that
// cfg asks for.
func registerServices(srv *rpc.Server, api NodeAPI, cfg ServerConfig, logger hclog.Logger) error {
	node := &wireNode{api: api, logger: logger}
	var nodeSvc any = node
	if cfg.Operator != nil {
		nodeSvc = &wireNodeOps{wireNode: node, ops: cfg.Operator}
	}
	services := []struct {
		name string
		rcvr any
		on   bool
	}{
		{"Node", nodeSvc, true},
		{"Job", &wireJob{api: cfg.Jobs, logger: logger}, cfg.Jobs != nil},
		{"Alloc", &wireAlloc{ops: cfg.Operator, logger: logger}, cfg.Operator != nil},
		{"Operator", &wireOperator{ops: cfg.Operator, logger: logger}, cfg.Operator != nil},
	}
	for _, s := range services {
		if !s.on {
			continue
		}
		if err := srv.RegisterName(s.name, s.rcvr); err != nil {
			return err
		}
	}
	return nil
}
