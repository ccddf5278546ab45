package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/rejoinhq/rejoin"
	"github.com/rejoinhq/rejoin/replicated"
)

// raftFlags make `rejoin server` a member of a replicated cluster:
//
//	rejoin server --data-dir D --bind ADDR --raft-bind RADDR --node-id ID \
//	    --peers id1=raddr1,id2=raddr2,id3=raddr3
//
// Every member is started with the same --peers (itself included); each
// bootstraps the cluster with that list, which raft ignores once a member
// has raft state, so restarts need no other flags. Raft's log and stable
// store are raft-boltdb in D/raft/raft.db, its snapshots under D/raft;
// with --dev instead of --data-dir they are in memory. --dev without
// --peers stays the single in-memory server it always was (no raft).
type raftFlags struct {
	peers    string
	nodeID   string
	raftBind string
}

func addRaftFlags(fs *flag.FlagSet, f *raftFlags) {
	fs.StringVar(&f.peers, "peers", "", "replicated mode: every member as `id=raftaddr,...` (this one included)")
	fs.StringVar(&f.nodeID, "node-id", "", "replicated mode: this member's `ID` in --peers")
	fs.StringVar(&f.raftBind, "raft-bind", "", "replicated mode: raft and forwarding listen `ADDR` (default: this member's --peers address)")
}

// parsePeers reads id=addr,... into raft servers, in the order given.
func parsePeers(s string) ([]raft.Server, error) {
	var out []raft.Server
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("--peers: %q is not id=addr", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--peers: %s: %w", id, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("--peers: %s given twice", id)
		}
		seen[id] = true
		out = append(out, raft.Server{ID: raft.ServerID(id), Address: raft.ServerAddress(addr)})
	}
	return out, nil
}

// validate checks the replicated-mode flags; nil when they are unused.
func (f *raftFlags) validate() error {
	if f.peers == "" {
		if f.nodeID != "" || f.raftBind != "" {
			return errors.New("--node-id and --raft-bind need --peers")
		}
		return nil
	}
	peers, err := parsePeers(f.peers)
	if err != nil {
		return err
	}
	if f.nodeID == "" {
		return errors.New("--peers needs --node-id")
	}
	for _, p := range peers {
		if string(p.ID) == f.nodeID {
			if f.raftBind == "" {
				f.raftBind = string(p.Address)
			}
			return nil
		}
	}
	return fmt.Errorf("--node-id %s is not in --peers", f.nodeID)
}

// raftOptions builds the WithRaft option for f, and what to close after
// the server stopped.
func raftOptions(f serverFlags, logger hclog.Logger, stderr io.Writer) ([]rejoin.Option, func(), error) {
	if f.raft.peers == "" {
		return nil, func() {}, nil
	}
	peers, err := parsePeers(f.raft.peers)
	if err != nil {
		return nil, nil, err
	}
	var self raft.ServerAddress
	for _, p := range peers {
		if string(p.ID) == f.raft.nodeID {
			self = p.Address
		}
	}
	adv, err := net.ResolveTCPAddr("tcp", string(self))
	if err != nil {
		return nil, nil, fmt.Errorf("--peers: %s: %w", self, err)
	}
	tn, err := replicated.NewTCPNetwork(f.raft.raftBind, adv, logger)
	if err != nil {
		return nil, nil, err
	}
	cfg := rejoin.RaftConfig{ID: f.raft.nodeID, Transport: tn.Transport(), Router: tn.Router(), Serve: tn.Serve, Bootstrap: peers}
	closers := []func(){func() { _ = tn.Close() }}
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	if f.dataDir != "" {
		// Before bolt opens raft.db: bolt waits forever for a database
		// another server holds.
		release, err := rejoin.LockDataDir(f.dataDir)
		if err != nil {
			cleanup()
			return nil, nil, err
		}
		closers = append(closers, release)
		dir := filepath.Join(f.dataDir, "raft")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			cleanup()
			return nil, nil, err
		}
		bolt, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("raft log store: %w", err)
		}
		closers = append(closers, func() { _ = bolt.Close() })
		snaps, err := raft.NewFileSnapshotStore(dir, 2, stderr)
		if err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("raft snapshot store: %w", err)
		}
		cfg.LogStore, cfg.StableStore, cfg.SnapshotStore = bolt, bolt, snaps
	}
	if f.dev {
		cfg.Raft = replicated.FastRaftConfig()
	}
	return []rejoin.Option{rejoin.WithRaft(cfg)}, cleanup, nil
}
