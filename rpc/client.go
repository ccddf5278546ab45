package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/rpc"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rejoinhq/rejoin/structs"
)

// Client defaults.
const (
	DefaultCallTimeout = 10 * time.Second
	DefaultDialTimeout = 5 * time.Second
	DefaultMaxAttempts = 3
	DefaultBackoffBase = 20 * time.Millisecond
	DefaultBackoffMax  = time.Second
)

// ClientConfig configures a TCP client.
type ClientConfig struct {
	// Addr is the server's host:port.
	Addr string
	// TLS, when set, dials TLS; set Certificates for mutual TLS.
	TLS *tls.Config
	// Conns is how many connections calls are spread over; default 1.
	// Each connection multiplexes any number of concurrent calls.
	Conns int
	// Timeout bounds one attempt of a call; default DefaultCallTimeout. A
	// blocking query gets its wait on top.
	Timeout     time.Duration
	DialTimeout time.Duration
	// MaxAttempts bounds tries of a call that failed for a transient
	// reason (dial failure, connection lost); default DefaultMaxAttempts.
	// A server's rejection and a timeout are never retried.
	MaxAttempts int
	// BackoffBase doubles per retry up to BackoffMax, with jitter.
	BackoffBase time.Duration
	BackoffMax  time.Duration
	// MaxMessageSize bounds one response; default DefaultMaxMessageSize.
	MaxMessageSize int
}

// Client calls a Server over TCP. It reuses its connections, redials the
// ones that fail, and is safe for concurrent use. Server rejections come
// back as *RemoteError matching the same structs sentinel as in process.
type Client struct {
	cfg    ClientConfig
	slots  []*clientSlot
	next   atomic.Uint64
	closed atomic.Bool
}

var _ NodeAPI = (*Client)(nil)

// clientSlot is one pooled connection.
type clientSlot struct {
	mu sync.Mutex // protects rc, dialing and dialErr
	rc *rpc.Client
	// dialing is closed when the dial in progress ends; dialErr is its
	// error, read by the callers that waited for it.
	dialing chan struct{}
	dialErr error
}

// NewClient returns a client; it dials lazily, on the first call.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Addr == "" {
		return nil, errors.New("rpc: ClientConfig.Addr is required")
	}
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultCallTimeout
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = DefaultBackoffBase
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	c := &Client{cfg: cfg, slots: make([]*clientSlot, cfg.Conns)}
	for i := range c.slots {
		c.slots[i] = &clientSlot{}
	}
	return c, nil
}

// Register calls Node.Register.
func (c *Client) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	return call(c, "Node.Register", args, reply, c.cfg.Timeout)
}

// UpdateStatus calls Node.UpdateStatus.
func (c *Client) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	return call(c, "Node.UpdateStatus", args, reply, c.cfg.Timeout)
}

// UpdateAlloc calls Node.UpdateAlloc.
func (c *Client) UpdateAlloc(args *structs.AllocUpdateRequest, reply *structs.AllocUpdateResponse) error {
	return call(c, "Node.UpdateAlloc", args, reply, c.cfg.Timeout)
}

// GetClientAllocs calls Node.GetClientAllocs; its timeout covers the
// longest the server may block, jitter included.
func (c *Client) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	var asked time.Duration
	if args != nil {
		asked = args.MaxQueryTime
	}
	wait := queryWait(asked, func(max time.Duration) time.Duration { return max })
	return call(c, "Node.GetClientAllocs", args, reply, wait+c.cfg.Timeout)
}

// Close closes every connection; calls after it fail with rpc.ErrShutdown.
func (c *Client) Close() error {
	c.closed.Store(true)
	for _, s := range c.slots {
		s.mu.Lock()
		rc := s.rc
		s.rc = nil
		s.mu.Unlock()
		if rc != nil {
			rc.Close()
		}
	}
	return nil
}

// call runs method with retries. The reply is decoded into a fresh value and
// copied out only on success: after a timeout the connection may still
// write into the value it was given.
func call[A, R any](c *Client, method string, args *A, reply *R, timeout time.Duration) error {
	var err error
	for attempt := 0; attempt < c.cfg.MaxAttempts; attempt++ {
		if attempt > 0 {
			time.Sleep(c.backoff(attempt))
		}
		if c.closed.Load() {
			return rpc.ErrShutdown
		}
		slot := c.slots[c.next.Add(1)%uint64(len(c.slots))]
		var rc *rpc.Client
		if rc, err = slot.get(c); err != nil {
			continue // dial failures are transient
		}
		out := new(R)
		err = do(rc, method, args, out, timeout)
		if err == nil {
			*reply = *out
			return nil
		}
		if !transient(err) {
			return err
		}
		slot.drop(rc)
	}
	return err
}

func do(rc *rpc.Client, method string, args, reply any, timeout time.Duration) error {
	pending := rc.Go(method, args, reply, make(chan *rpc.Call, 1))
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-pending.Done:
		var se rpc.ServerError
		if errors.As(pending.Error, &se) {
			return decodeWireError(string(se))
		}
		return pending.Error
	case <-timer.C:
		return fmt.Errorf("%w: %s after %v", ErrCallTimeout, method, timeout)
	}
}

// transient says whether a call may succeed if tried again on a fresh
// connection: everything but a server's answer and a timeout.
func transient(err error) bool {
	var re *RemoteError
	return !errors.As(err, &re) && !errors.Is(err, ErrCallTimeout)
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.BackoffBase << min(attempt-1, 16)
	d = min(d, c.cfg.BackoffMax)
	return d/2 + time.Duration(mrand.Int64N(int64(d/2)+1))
}

// get returns the slot's connection, dialing one if it has none. One
// caller dials (outside the lock) while the others wait for its result, so
// a burst of calls opens one connection, not one each.
func (s *clientSlot) get(c *Client) (*rpc.Client, error) {
	for {
		s.mu.Lock()
		if s.rc != nil {
			rc := s.rc
			s.mu.Unlock()
			return rc, nil
		}
		if wait := s.dialing; wait != nil {
			s.mu.Unlock()
			<-wait
			s.mu.Lock()
			err := s.dialErr
			s.mu.Unlock()
			if err != nil {
				return nil, err
			}
			continue
		}
		done := make(chan struct{})
		s.dialing = done
		s.mu.Unlock()

		rc, err := c.dial()
		s.mu.Lock()
		s.dialing, s.dialErr = nil, err
		if err == nil && c.closed.Load() {
			rc.Close()
			rc, err = nil, rpc.ErrShutdown
		}
		s.rc = rc
		s.mu.Unlock()
		close(done)
		return rc, err
	}
}

// drop forgets rc if it is still the slot's connection, and closes it.
func (s *clientSlot) drop(rc *rpc.Client) {
	s.mu.Lock()
	if s.rc == rc {
		s.rc = nil
	}
	s.mu.Unlock()
	rc.Close()
}

func (c *Client) dial() (*rpc.Client, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
	defer cancel()
	nd := &net.Dialer{Timeout: c.cfg.DialTimeout}
	var conn net.Conn
	var err error
	if c.cfg.TLS != nil {
		conn, err = (&tls.Dialer{NetDialer: nd, Config: c.cfg.TLS}).DialContext(ctx, "tcp", c.cfg.Addr)
	} else {
		conn, err = nd.DialContext(ctx, "tcp", c.cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("rpc: dial %s: %w", c.cfg.Addr, err)
	}
	fc := newFrameConn(conn, c.cfg.MaxMessageSize)
	return rpc.NewClientWithCodec(codec.MsgpackSpecRpc.ClientCodec(fc, structs.MsgpackHandle)), nil
}
