package main

import (
	"testing"

	"github.com/shoenig/test/must"
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
