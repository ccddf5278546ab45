package structs

// Allocation client statuses: what the client reports about an allocation.
// Unknown and lost are set only by the server.
const (
	AllocClientStatusPending  = "pending"
	AllocClientStatusRunning  = "running"
	AllocClientStatusComplete = "complete"
	AllocClientStatusFailed   = "failed"
	AllocClientStatusLost     = "lost"
	AllocClientStatusUnknown  = "unknown"
)

// Allocation desired statuses: what the server wants of an allocation.
const (
	AllocDesiredStatusRun   = "run"
	AllocDesiredStatusStop  = "stop"
	AllocDesiredStatusEvict = "evict"
)

// Descriptions the server writes when it stops or marks an allocation. They
// are Nomad's wording so operators recognise them.
const (
	AllocLost        = "alloc is lost since its node is down"
	AllocUnknown     = "alloc is unknown since its node is disconnected"
	AllocNotNeeded   = "alloc not needed due to job update"
	AllocReconnected = "alloc not needed due to disconnected client reconnect"
	AllocRescheduled = "alloc was rescheduled because it failed"
	AllocUpdating    = "alloc is being updated due to job update"
)

// ValidClientStatus reports whether s is a known allocation client status.
func ValidClientStatus(s string) bool {
	switch s {
	case AllocClientStatusPending, AllocClientStatusRunning, AllocClientStatusComplete,
		AllocClientStatusFailed, AllocClientStatusLost, AllocClientStatusUnknown:
		return true
	}
	return false
}

// ValidDesiredStatus reports whether s is a known allocation desired status.
func ValidDesiredStatus(s string) bool {
	switch s {
	case AllocDesiredStatusRun, AllocDesiredStatusStop, AllocDesiredStatusEvict:
		return true
	}
	return false
}

// ServerOnlyClientStatus reports whether only the server may set s: a client
// that reports it is broken or hostile.
func ServerOnlyClientStatus(s string) bool {
	return s == AllocClientStatusUnknown || s == AllocClientStatusLost
}

// ClientTerminalStatus reports whether a client status is final: the client
// will never run the allocation again.
func ClientTerminalStatus(s string) bool {
	switch s {
	case AllocClientStatusComplete, AllocClientStatusFailed, AllocClientStatusLost:
		return true
	}
	return false
}

// ServerTerminalStatus reports whether a desired status means the server has
// asked for the allocation to stop.
func ServerTerminalStatus(s string) bool {
	return s == AllocDesiredStatusStop || s == AllocDesiredStatusEvict
}
