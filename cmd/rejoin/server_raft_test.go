package main

import (
	"io"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin"
)

func TestServerRaftFlags(t *testing.T) {
	ok := raftFlags{peers: "a=127.0.0.1:7001,b=127.0.0.1:7002", nodeID: "b"}
	must.NoError(t, ok.validate())
	must.Eq(t, "127.0.0.1:7002", ok.raftBind) // defaults to its own peer address
	for name, f := range map[string]raftFlags{
		"node id without peers": {nodeID: "a"},
		"no node id":            {peers: "a=127.0.0.1:1"},
		"not a member":          {peers: "a=127.0.0.1:1", nodeID: "z"},
		"bad pair":              {peers: "a127.0.0.1:1", nodeID: "a"},
		"bad address":           {peers: "a=nohostport", nodeID: "a"},
		"duplicate":             {peers: "a=127.0.0.1:1,a=127.0.0.1:2", nodeID: "a"},
	} {
		t.Run(name, func(t *testing.T) { must.Error(t, f.validate()) })
	}
	var none raftFlags
	must.NoError(t, none.validate())
}

// A replicated server whose --data-dir another server holds fails at once
// with ErrDataDirLocked, rather than waiting on raft.db's lock.
func TestServerRaft_DataDirInUse(t *testing.T) {
	dir := t.TempDir()
	release, err := rejoin.LockDataDir(dir)
	must.NoError(t, err)
	f := serverFlags{dataDir: dir, raft: raftFlags{peers: "a=127.0.0.1:0", nodeID: "a"}}
	must.NoError(t, f.raft.validate())
	_, _, err = raftOptions(f, hclog.NewNullLogger(), io.Discard)
	must.ErrorIs(t, err, rejoin.ErrDataDirLocked)

	release()
	opts, cleanup, err := raftOptions(f, hclog.NewNullLogger(), io.Discard)
	must.NoError(t, err)
	must.SliceLen(t, 1, opts)
	_, err = rejoin.LockDataDir(dir) // held until cleanup
	must.ErrorIs(t, err, rejoin.ErrDataDirLocked)
	cleanup()
	release, err = rejoin.LockDataDir(dir)
	must.NoError(t, err)
	release()
}
