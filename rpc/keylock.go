package rpc

import (
	"hash/maphash"
	"sync"
)

// keyLockShards spreads keys over independent maps so that locking one
// node never contends with locking most others on the map's mutex.
const keyLockShards = 64

// keyLock is a keyed, reference-counted FIFO lock: Lock(k) excludes every
// other holder of k, callers of one key get the lock in arrival order, and
// different keys never wait for each other. An entry lives in its shard's
// map only while someone holds or waits for it, so the map stays as small as
// the set of busy keys (the pitfall it avoids: deleting an entry while a
// goroutine still waits on it lets a newcomer create a second entry and hold
// "the same" lock concurrently; here an entry is deleted only when its
// holder leaves with no waiter queued, under the shard mutex).
type keyLock struct {
	seed   maphash.Seed
	shards [keyLockShards]keyLockShard
}

type keyLockShard struct {
	mu      sync.Mutex // protects entries and every entry's waiters
	entries map[string]*keyLockEntry
}

// keyLockEntry exists while its key is held. waiters are the goroutines
// queued behind the holder, oldest first; unlocking hands ownership to the
// first by closing its channel, so the entry stays held without a gap.
type keyLockEntry struct {
	waiters []chan struct{}
}

func newKeyLock() *keyLock {
	k := &keyLock{seed: maphash.MakeSeed()}
	for i := range k.shards {
		k.shards[i].entries = make(map[string]*keyLockEntry)
	}
	return k
}

func (k *keyLock) shard(key string) *keyLockShard {
	return &k.shards[maphash.String(k.seed, key)%keyLockShards]
}

// Lock blocks until the caller holds key and returns the function that
// releases it. The unlock function must be called exactly once.
func (k *keyLock) Lock(key string) (unlock func()) {
	s := k.shard(key)
	s.mu.Lock()
	e, held := s.entries[key]
	if !held {
		s.entries[key] = &keyLockEntry{}
		s.mu.Unlock()
		return func() { k.unlock(s, key) }
	}
	ch := make(chan struct{})
	e.waiters = append(e.waiters, ch)
	s.mu.Unlock()
	<-ch // closed by the previous holder: we now own the entry
	return func() { k.unlock(s, key) }
}

func (k *keyLock) unlock(s *keyLockShard, key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[key]
	if e == nil {
		panic("rpc: keyLock: unlock of unlocked key")
	}
	if len(e.waiters) == 0 {
		delete(s.entries, key)
		return
	}
	next := e.waiters[0]
	e.waiters[0] = nil
	e.waiters = e.waiters[1:]
	close(next)
}

// size returns the number of live entries (held keys); for tests.
func (k *keyLock) size() int {
	n := 0
	for i := range k.shards {
		s := &k.shards[i]
		s.mu.Lock()
		n += len(s.entries)
		s.mu.Unlock()
	}
	return n
}

// waiting returns how many goroutines wait for key; for tests.
func (k *keyLock) waiting(key string) int {
	s := k.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[key]; e != nil {
		return len(e.waiters)
	}
	return 0
}
