package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/rejoinhq/rejoin/structs"
)

// DefaultHandshakeTimeout bounds a TLS handshake on an accepted connection.
const DefaultHandshakeTimeout = 10 * time.Second

// ServerConfig configures the TCP transport.
type ServerConfig struct {
	// Logger gets connection errors; default: discard.
	Logger hclog.Logger
	// TLS, when set, makes every connection TLS. Set ClientCAs and
	// ClientAuth (see ServerTLSConfig) for mutual TLS.
	TLS *tls.Config
	// MaxMessageSize bounds one request; default DefaultMaxMessageSize.
	MaxMessageSize int
	// HandshakeTimeout bounds the TLS handshake; default DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// Jobs, when set, is served as the "Job" service (Register,
	// Deregister, Get, Status).
	Jobs JobAPI
	// Operator, when set, adds Node.Get and Node.List to the "Node"
	// service and serves Alloc.Get and Operator.Status.
	Operator OperatorAPI
}

// Server serves NodeAPI as net/rpc over TCP with go-msgpack's msgpack-rpc
// codec. A connection that sends a malformed or oversized message is closed
// and logged; nothing else is affected.
type Server struct {
	rpc    *rpc.Server
	cfg    ServerConfig
	logger hclog.Logger

	mu        sync.Mutex // protects listeners, conns and closed
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closed    bool
	wg        sync.WaitGroup // one per connection being served
}

// NewServer returns a server for api (typically a *Node).
func NewServer(api NodeAPI, cfg ServerConfig) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	s := &Server{
		rpc:       rpc.NewServer(),
		cfg:       cfg,
		logger:    cfg.Logger.Named("rpc-server"),
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
	}
	if err := registerServices(s.rpc, api, cfg, s.logger); err != nil {
		return nil, fmt.Errorf("rpc: register services: %w", err)
	}
	return s, nil
}

// Serve accepts connections on ln until Close. It returns nil after Close
// and the accept error otherwise.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ln.Close()
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()

	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed || errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and the like: back off, go on.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logger.Warn("accept failed; retrying", "error", err, "backoff", backoff)
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		go s.ServeConn(conn)
	}
}

// ServeConn serves one connection and returns when it is closed.
func (s *Server) ServeConn(conn net.Conn) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		conn.Close()
		s.mu.Lock()
		delete(s.conns, conn)
		s.mu.Unlock()
		s.wg.Done()
	}()

	remote := addrString(conn.RemoteAddr())
	var rwc io.ReadWriteCloser = conn
	if s.cfg.TLS != nil {
		tc := tls.Server(conn, s.cfg.TLS)
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.HandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			s.logger.Warn("TLS handshake failed; closing connection", "remote", remote, "error", err)
			return
		}
		rwc = tc
	}
	fc := newFrameConn(rwc, s.cfg.MaxMessageSize)
	s.rpc.ServeCodec(&serverCodec{
		ServerCodec: codec.MsgpackSpecRpc.ServerCodec(fc, structs.MsgpackHandle),
		fc:          fc,
		logger:      s.logger,
		remote:      remote,
	})
}

// Close stops every listener and connection and waits for the
// connections' in-flight calls to finish.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// serverCodec closes the connection on the first message it cannot
// decode, logs why, and keeps a codec panic from reaching net/rpc.
type serverCodec struct {
	rpc.ServerCodec
	fc     *frameConn
	logger hclog.Logger
	remote string
	dec    *codec.Decoder // reused: net/rpc reads a connection's requests one at a time
}

func (c *serverCodec) ReadRequestHeader(r *rpc.Request) (err error) {
	defer c.recoverDecode(&err)
	if err = c.ServerCodec.ReadRequestHeader(r); err != nil {
		c.readFailed(err)
	}
	return err
}

func (c *serverCodec) ReadRequestBody(body any) (err error) {
	defer c.recoverDecode(&err)
	if body == nil {
		err = c.ServerCodec.ReadRequestBody(nil) // discard
	} else {
		// The whole message is in memory: decode the params array
		// ([body], as msgpack-rpc frames it) from the bytes directly,
		// which is much cheaper than the codec's byte-wise reader.
		err = c.decodeBody(body)
	}
	if err == nil && c.fc.remaining() != 0 {
		err = &FrameError{Limit: c.fc.limit, Reason: fmt.Sprintf("%d bytes after the request body", c.fc.remaining())}
	}
	if err != nil {
		// net/rpc would answer and read on; the rest of the stream cannot
		// be trusted, so the connection ends here.
		c.readFailed(err)
		c.fc.Close()
	}
	return err
}

// decodeBody decodes the params array ([body], as msgpack-rpc frames it)
// from the buffered message. An UpdateAlloc request takes the direct
// decoder when its shape allows (decodeAllocUpdateParams), the codec
// otherwise.
func (c *serverCodec) decodeBody(body any) error {
	msg := c.fc.buf[c.fc.pos:]
	if req, ok := body.(*structs.AllocUpdateRequest); ok {
		if n, ok := decodeAllocUpdateParams(msg, req); ok {
			c.fc.pos += n
			return nil
		}
		*req = structs.AllocUpdateRequest{}
	}
	if c.dec == nil {
		c.dec = codec.NewDecoderBytes(nil, structs.MsgpackHandle)
	}
	c.dec.ResetBytes(msg)
	params := []any{body}
	err := c.dec.Decode(&params)
	c.fc.pos += c.dec.NumBytesRead()
	return err
}

func (c *serverCodec) recoverDecode(err *error) {
	if r := recover(); r != nil {
		*err = &FrameError{Limit: c.fc.limit, Reason: fmt.Sprintf("decoder panic: %v", r)}
		c.readFailed(*err)
		c.fc.Close()
	}
}

func (c *serverCodec) readFailed(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return // the peer hung up or we closed: not an error
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		c.logger.Debug("connection error", "remote", c.remote, "error", err)
		return
	}
	c.logger.Error("bad message; closing connection", "remote", c.remote, "error", err)
}
