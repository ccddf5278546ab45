package rpc

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/shoenig/test/must"
)

// waitQueued yields until n goroutines are queued behind key's holder.
func waitQueued(k *keyLock, key string, n int) {
	for k.waiting(key) < n {
		runtime.Gosched()
	}
}

func TestKeyLock_EntryFreedWhenNoHolderOrWaiter(t *testing.T) {
	k := newKeyLock()
	ua := k.Lock("a")
	ub := k.Lock("b")
	must.Eq(t, 2, k.size())

	// Two waiters queue behind "a": the entry must survive the holder's
	// unlock while anyone still waits.
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			u := k.Lock("a")
			u()
			done <- struct{}{}
		}()
	}
	waitQueued(k, "a", 2)
	ua()
	<-done
	<-done
	must.Eq(t, 1, k.size()) // only "b" is held
	ub()
	must.Eq(t, 0, k.size())
}

func TestKeyLock_MutualExclusionPerKey(t *testing.T) {
	k := newKeyLock()
	const workers, iters = 32, 200
	var inside atomic.Int32
	var maxInside atomic.Int32
	counter := 0 // protected by k's "n1"; the race detector checks it
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range iters {
				u := k.Lock("n1")
				if v := inside.Add(1); v > maxInside.Load() {
					maxInside.Store(v)
				}
				counter++
				inside.Add(-1)
				u()
			}
		}()
	}
	wg.Wait()
	must.Eq(t, workers*iters, counter)
	must.Eq(t, int32(1), maxInside.Load())
	must.Eq(t, 0, k.size())
}

func TestKeyLock_DifferentKeysDoNotWait(t *testing.T) {
	k := newKeyLock()
	ua := k.Lock("a")
	got := make(chan string)
	// While "a" is held, every other key must be obtainable; if keys
	// shared a lock this would deadlock and the test would time out.
	for _, key := range []string{"b", "c", "d"} {
		go func() {
			u := k.Lock(key)
			u()
			got <- key
		}()
	}
	seen := map[string]bool{}
	for range 3 {
		seen[<-got] = true
	}
	must.MapLen(t, 3, seen)
	must.Eq(t, 0, k.waiting("a"))
	ua()
	must.Eq(t, 0, k.size())
}

func TestKeyLock_ArrivalOrder(t *testing.T) {
	k := newKeyLock()
	u := k.Lock("n")
	const n = 8
	order := make(chan int, n)
	for i := range n {
		go func() {
			ui := k.Lock("n")
			order <- i
			ui()
		}()
		waitQueued(k, "n", i+1) // i+1 queued, in this order
	}
	u()
	for i := range n {
		must.Eq(t, i, <-order)
	}
	must.Eq(t, 0, k.size())
}

func TestKeyLock_UnlockOfUnlockedKeyPanics(t *testing.T) {
	k := newKeyLock()
	u := k.Lock("x")
	u()
	defer func() { must.NotNil(t, recover()) }()
	u()
}
