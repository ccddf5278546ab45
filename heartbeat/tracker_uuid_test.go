package heartbeat

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rejoinhq/rejoin/clock"
	"github.com/shoenig/test/must"
)

// testUUID is a canonical lowercase UUID for i (with a few high bits set so
// both key words vary).
func testUUID(i int) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", uint32(i*2654435761), i%65536, i%4096, (i*7)%4096, i)
}

// idKinds are the ID populations the model test runs with.
var idKinds = []struct {
	name    string
	id      func(i int) string
	collide bool // zero the UUID hash seeds: every UUID hashes to 0
}{
	{"names", func(i int) string { return fmt.Sprintf("node-%d", i) }, false},
	{"uuids", testUUID, false},
	{"mixed", func(i int) string {
		switch i % 4 {
		case 0:
			return fmt.Sprintf("node-%d", i)
		case 1:
			return strings.ToUpper(testUUID(i)) // not canonical: string table
		case 2:
			if i == 2 {
				return "00000000-0000-0000-0000-000000000000" // nil UUID: string table
			}
		}
		return testUUID(i)
	}, false},
	// One probe cluster through the whole table, wrapping around: backward
	// shifts move records across blocks on every removal and expiry.
	{"colliding-uuids", testUUID, true},
}

// TestTracker_ModelByIDKind checks the tables, the block deadline bounds and
// the expiry batches against a map model, for every kind of ID.
func TestTracker_ModelByIDKind(t *testing.T) {
	for _, kind := range idKinds {
		t.Run(kind.name, func(t *testing.T) {
			clk := newFakeClock(epoch)
			var batches [][]string
			tr := NewTracker(TrackerConfig{Clock: clk, Shards: 2, BatchSize: 7,
				OnExpire: func(ids []string) { batches = append(batches, ids) }})
			n := 3000
			if kind.collide {
				tr.useed = [3]uint64{}
				n = 400 // every lookup walks the one cluster
			}
			model := map[string]time.Time{}
			r := uint64(7)
			next := func(n uint64) uint64 { r = r*6364136223846793005 + 1442695040888963407; return (r >> 33) % n }
			for step := range 12000 {
				id := kind.id(int(next(uint64(n))))
				switch next(10) {
				case 0:
					_, had := model[id]
					must.Eq(t, had, tr.Remove(id))
					delete(model, id)
				default:
					ttl := time.Duration(next(10000)+1) * time.Millisecond
					_, had := model[id]
					must.Eq(t, !had, tr.Reset(id, ttl))
					model[id] = clk.Now().Add(ttl)
				}
				if step%300 != 0 {
					continue
				}
				before := clk.Now()
				clk.Advance(time.Duration(next(3000)) * time.Millisecond)
				now := clk.Now()
				// Expected: every modelled node due by now, in (deadline, ID)
				// order; the fake clock fires at each distinct deadline.
				var want []string
				for id, dl := range model {
					if !dl.After(now) {
						want = append(want, id)
					}
				}
				slices.SortFunc(want, func(a, b string) int {
					if c := model[a].Compare(model[b]); c != 0 {
						return c
					}
					return cmp.Compare(a, b)
				})
				var got []string
				for _, b := range batches {
					must.LessEq(t, 7, len(b))
					got = append(got, b...)
				}
				batches = nil
				must.Eq(t, want, got, must.Sprintf("advance %v -> %v", before, now))
				for _, id := range want {
					delete(model, id)
				}
				for id, dl := range model {
					got, ok := tr.Deadline(id)
					must.True(t, ok, must.Sprint(id))
					must.Eq(t, dl, got)
				}
				must.Eq(t, len(model), tr.Len())
			}
		})
	}
}

// TestTracker_UUIDExpiryOrderMixedKinds: IDs due at one instant come in ID
// order whatever table holds them.
func TestTracker_UUIDExpiryOrderMixedKinds(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	ids := []string{
		"ffffffff-0000-0000-0000-000000000000",
		"00000000-0000-0000-0000-000000000001",
		"00000000-0000-0000-0000-000000000000", // nil UUID
		"0000000A-0000-0000-0000-000000000000", // uppercase: another ID
		"0000000a-0000-0000-0000-000000000000",
		"node-1",
		"1",
		"",
		"a0000000-0000-0000-0000-00000000000f",
		"a0000000-0000-0000-0000-0000000000f0",
	}
	for _, id := range ids {
		must.True(t, tr.Reset(id, time.Second))
	}
	must.Eq(t, len(ids), tr.Len())
	must.False(t, tr.Reset("0000000a-0000-0000-0000-000000000000", time.Second))
	must.True(t, tr.Contains("0000000A-0000-0000-0000-000000000000"))
	must.False(t, tr.Contains("0000000b-0000-0000-0000-000000000000"))
	clk.Advance(time.Second)
	want := slices.Clone(ids)
	slices.Sort(want)
	must.Eq(t, want, log.all())

	// Only UUIDs: sorted by key, which is string order.
	for i := range 50 {
		tr.Reset(testUUID(i*977), 2*time.Second)
	}
	clk.Advance(2 * time.Second)
	got := log.all()[len(ids):]
	must.Len(t, 50, got)
	must.True(t, slices.IsSorted(got))
}

// TestTracker_UUIDResetEarlierAndLater: moving a UUID node's deadline later
// only stores it; moving it earlier fires at the earlier instant.
func TestTracker_UUIDResetEarlierAndLater(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	a, b := testUUID(1), testUUID(2)
	tr.Reset(a, 10*time.Second)
	tr.Reset(b, 10*time.Second)
	clk.Advance(5 * time.Second)
	tr.Reset(a, 20*time.Second) // 25s
	tr.Reset(b, time.Second)    // 6s
	clk.Advance(time.Second - time.Nanosecond)
	must.SliceEmpty(t, log.all())
	clk.Advance(time.Nanosecond)
	must.Eq(t, []string{b}, log.all())
	clk.Advance(19*time.Second - time.Nanosecond) // 25s - 1ns: the 10s bound passed
	must.Eq(t, []string{b}, log.all())
	dl, ok := tr.Deadline(a)
	must.True(t, ok)
	must.Eq(t, epoch.Add(25*time.Second), dl)
	clk.Advance(time.Nanosecond)
	must.Eq(t, []string{b, a}, log.all())
	must.Eq(t, 0, tr.Len())
}

// TestTracker_ConcurrentUUIDResetsGrowAndRemove: 64 goroutines insert,
// reset and remove UUID and name IDs at once, growing the tables while
// others reset; run under -race. The last reset of each node decides.
func TestTracker_ConcurrentUUIDResetsGrowAndRemove(t *testing.T) {
	clk := newFakeClock(epoch)
	tr := NewTracker(TrackerConfig{Clock: clk, Shards: 4})
	const workers, perWorker = 64, 60
	id := func(w, i int) string {
		if i%5 == 0 {
			return fmt.Sprintf("w%d-n%d", w, i)
		}
		return testUUID(w*perWorker + i)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 3 {
				for i := range perWorker {
					tr.Reset(id(w, i), time.Duration(round*i+1)*time.Second)
					tr.Reset(id((w+1)%workers, i), time.Hour) // someone else's node
					if i%7 == round {
						tr.Remove(id((w+3)%workers, i))
					}
				}
			}
		}()
	}
	wg.Wait()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				tr.Reset(id(w, i), time.Duration(w*perWorker+i+1)*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	must.Eq(t, workers*perWorker, tr.Len())
	for w := range workers {
		for i := range perWorker {
			dl, ok := tr.Deadline(id(w, i))
			must.True(t, ok)
			must.Eq(t, epoch.Add(time.Duration(w*perWorker+i+1)*time.Millisecond), dl)
		}
	}
	clk.Advance(time.Duration(workers*perWorker) * time.Millisecond)
	must.Eq(t, 0, tr.Len())
}

// TestTracker_SystemClockDeadlines: on the system clock Reset reads the
// clock under the shard lock; the deadline is still now+ttl, for both
// tables, and a short one expires through the real timer.
func TestTracker_SystemClockDeadlines(t *testing.T) {
	done := make(chan []string, 4)
	tr := NewTracker(TrackerConfig{Clock: clock.System{}, OnExpire: func(ids []string) { done <- ids }})
	defer tr.Stop()
	for _, id := range []string{testUUID(42), "node-42"} {
		before := time.Now()
		must.True(t, tr.Reset(id, time.Hour))
		after := time.Now()
		dl, ok := tr.Deadline(id)
		must.True(t, ok)
		must.False(t, dl.Before(before.Add(time.Hour)), must.Sprint(id))
		must.False(t, dl.After(after.Add(time.Hour)), must.Sprint(id))
		must.False(t, tr.Reset(id, time.Millisecond)) // earlier: arms the timer
	}
	var got []string
	for len(got) < 2 {
		select {
		case ids := <-done:
			got = append(got, ids...)
		case <-time.After(10 * time.Second):
			t.Fatalf("expired so far: %v", got)
		}
	}
	slices.Sort(got)
	must.Eq(t, []string{testUUID(42), "node-42"}, got)
	must.Eq(t, 0, tr.Len())
}
