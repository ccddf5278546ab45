package rpc

// Client methods for the Job, operator and status services. They are not
// retried on a server's answer, like every call; a Register whose reply was
// lost may have been applied (the job's version shows it).

// JobRegister calls Job.Register.
func (c *Client) JobRegister(args *JobRegisterRequest, reply *JobRegisterResponse) error {
	return call(c, "Job.Register", args, reply, c.cfg.Timeout)
}

// JobDeregister calls Job.Deregister.
func (c *Client) JobDeregister(args *JobDeregisterRequest, reply *JobDeregisterResponse) error {
	return call(c, "Job.Deregister", args, reply, c.cfg.Timeout)
}

// JobGet calls Job.Get.
func (c *Client) JobGet(args *JobSpecificRequest, reply *JobGetResponse) error {
	return call(c, "Job.Get", args, reply, c.cfg.Timeout)
}

// JobStatus calls Job.Status.
func (c *Client) JobStatus(args *JobSpecificRequest, reply *JobStatusResponse) error {
	return call(c, "Job.Status", args, reply, c.cfg.Timeout)
}

// NodeGet calls Node.Get.
func (c *Client) NodeGet(args *NodeGetRequest, reply *NodeInfo) error {
	return call(c, "Node.Get", args, reply, c.cfg.Timeout)
}

// NodeList calls Node.List.
func (c *Client) NodeList(args *NodeListRequest, reply *NodeListResponse) error {
	return call(c, "Node.List", args, reply, c.cfg.Timeout)
}

// AllocGet calls Alloc.Get.
func (c *Client) AllocGet(args *AllocGetRequest, reply *AllocInfo) error {
	return call(c, "Alloc.Get", args, reply, c.cfg.Timeout)
}

// ServerStatus calls Operator.Status.
func (c *Client) ServerStatus(args *ServerStatusRequest, reply *ServerStatusResponse) error {
	return call(c, "Operator.Status", args, reply, c.cfg.Timeout)
}

// Jobs returns c as a JobAPI, so code written against the in-process
// *Jobs runs over TCP unchanged.
func (c *Client) Jobs() JobAPI { return clientJobs{c} }

// Operator returns c as an OperatorAPI.
func (c *Client) Operator() OperatorAPI { return clientOperator{c} }

type clientJobs struct{ c *Client }

func (j clientJobs) Register(a *JobRegisterRequest, r *JobRegisterResponse) error {
	return j.c.JobRegister(a, r)
}
func (j clientJobs) Deregister(a *JobDeregisterRequest, r *JobDeregisterResponse) error {
	return j.c.JobDeregister(a, r)
}
func (j clientJobs) Get(a *JobSpecificRequest, r *JobGetResponse) error { return j.c.JobGet(a, r) }
func (j clientJobs) Status(a *JobSpecificRequest, r *JobStatusResponse) error {
	return j.c.JobStatus(a, r)
}

type clientOperator struct{ c *Client }

func (o clientOperator) NodeGet(a *NodeGetRequest, r *NodeInfo) error { return o.c.NodeGet(a, r) }
func (o clientOperator) NodeList(a *NodeListRequest, r *NodeListResponse) error {
	return o.c.NodeList(a, r)
}
func (o clientOperator) AllocGet(a *AllocGetRequest, r *AllocInfo) error { return o.c.AllocGet(a, r) }
func (o clientOperator) ServerStatus(a *ServerStatusRequest, r *ServerStatusResponse) error {
	return o.c.ServerStatus(a, r)
}
