package heartbeat

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

type expiryLog struct {
	mu      sync.Mutex // protects batches
	batches [][]string
}

func (l *expiryLog) record(ids []string) {
	l.mu.Lock()
	l.batches = append(l.batches, ids)
	l.mu.Unlock()
}

func (l *expiryLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, b := range l.batches {
		out = append(out, b...)
	}
	return out
}

func newTestTracker(t *testing.T, batch int) (*Tracker, *fakeClock, *expiryLog) {
	t.Helper()
	clk := newFakeClock(epoch)
	log := &expiryLog{}
	tr := NewTracker(TrackerConfig{Clock: clk, OnExpire: log.record, BatchSize: batch, Shards: 4})
	return tr, clk, log
}

func TestTracker_ExpiresExactlyAtDeadline(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	must.True(t, tr.Reset("n1", 20*time.Second))
	must.Eq(t, 1, tr.Len())

	clk.Advance(20*time.Second - time.Nanosecond)
	must.SliceEmpty(t, log.all())
	must.True(t, tr.Contains("n1"))

	clk.Advance(time.Nanosecond)
	must.Eq(t, []string{"n1"}, log.all())
	must.Eq(t, 0, tr.Len())
	must.False(t, tr.Contains("n1"))
}

func TestTracker_ResetPostponesAndShortens(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	tr.Reset("n1", 10*time.Second)
	clk.Advance(8 * time.Second)
	must.False(t, tr.Reset("n1", 10*time.Second)) // deadline now 18s
	dl, ok := tr.Deadline("n1")
	must.True(t, ok)
	must.Eq(t, epoch.Add(18*time.Second), dl)

	clk.Advance(9 * time.Second) // t=17s: the old 10s key fired and was re-keyed
	must.SliceEmpty(t, log.all())
	must.Eq(t, 1, tr.Len())

	tr.Reset("n1", 500*time.Millisecond) // earlier than the armed time
	clk.Advance(500 * time.Millisecond)
	must.Eq(t, []string{"n1"}, log.all())
}

func TestTracker_RemoveAndClear(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	for i := range 100 {
		tr.Reset(fmt.Sprintf("n%03d", i), time.Duration(i+1)*time.Second)
	}
	must.True(t, tr.Remove("n005"))
	must.False(t, tr.Remove("n005"))
	must.False(t, tr.Remove("absent"))
	must.Eq(t, 99, tr.Len())

	clk.Advance(10 * time.Second)
	must.Eq(t, []string{"n000", "n001", "n002", "n003", "n004", "n006", "n007", "n008", "n009"}, log.all())
	must.Eq(t, 90, tr.Len())

	tr.Clear()
	must.Eq(t, 0, tr.Len())
	clk.Advance(time.Hour)
	must.Eq(t, 9, len(log.all()))

	// usable after Clear
	tr.Reset("again", time.Second)
	clk.Advance(time.Second)
	must.Eq(t, "again", log.all()[9])
}

func TestTracker_BatchesInDeadlineOrder(t *testing.T) {
	tr, clk, log := newTestTracker(t, 3)
	for i := range 8 {
		tr.Reset(fmt.Sprintf("n%d", 7-i), time.Second) // same deadline
	}
	tr.Reset("early", time.Second-1)
	clk.Advance(2 * time.Second)
	// early fires alone at its own instant; the eight equal deadlines come
	// in one firing, split into batches of three, ordered by ID.
	must.Eq(t, [][]string{{"early"}, {"n0", "n1", "n2"}, {"n3", "n4", "n5"}, {"n6", "n7"}}, log.batches)
}

func TestTracker_StopDisarms(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	tr.Reset("n1", time.Second)
	tr.Stop()
	tr.Reset("n2", time.Second)
	clk.Advance(time.Minute)
	must.SliceEmpty(t, log.all())
}

func TestTracker_CallbackMayResetAndIsOutsideLocks(t *testing.T) {
	tr, clk, _ := newTestTracker(t, 0)
	var got []string
	tr.onExpire = func(ids []string) {
		got = append(got, ids...)
		for _, id := range ids {
			if len(got) < 3 {
				tr.Reset(id, time.Second) // re-track from inside the callback
			}
		}
	}
	tr.Reset("n1", time.Second)
	clk.Advance(5 * time.Second)
	must.Eq(t, []string{"n1", "n1", "n1"}, got)
	must.Eq(t, 0, tr.Len())
}

// TestTracker_ManyNodesRandomOps checks the index and heap against a map model.
func TestTracker_ManyNodesRandomOps(t *testing.T) {
	tr, clk, log := newTestTracker(t, 0)
	model := map[string]time.Time{}
	r := uint64(1)
	next := func(n uint64) uint64 { r = r*6364136223846793005 + 1442695040888963407; return (r >> 33) % n }
	for step := range 20000 {
		id := fmt.Sprintf("node-%d", next(3000))
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
		if step%500 == 0 {
			clk.Advance(time.Duration(next(3000)) * time.Millisecond)
			now := clk.Now()
			for _, id := range log.all() {
				dl, ok := model[id]
				if ok && !dl.After(now) {
					delete(model, id)
				}
			}
			log.batches = nil
			for id, dl := range model {
				must.False(t, !dl.After(now), must.Sprintf("%s should have expired", id))
				got, ok := tr.Deadline(id)
				must.True(t, ok)
				must.Eq(t, dl, got)
			}
			must.Eq(t, len(model), tr.Len())
		}
	}
}

func TestTracker_ConcurrentResets(t *testing.T) {
	clk := newFakeClock(epoch)
	tr := NewTracker(TrackerConfig{Clock: clk})
	const workers, perWorker = 64, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				// every worker touches every node of its own range several times
				id := fmt.Sprintf("w%d-n%d", w, i%50)
				tr.Reset(id, time.Duration(i+1)*time.Second)
				if i%37 == 0 {
					tr.Remove(fmt.Sprintf("w%d-n%d", (w+1)%workers, i%50))
				}
			}
		}()
	}
	wg.Wait()
	// Re-reset every node with a known ttl: the last reset decides.
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				tr.Reset(fmt.Sprintf("w%d-n%d", w, i), time.Duration(w*50+i+1)*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	must.Eq(t, workers*50, tr.Len())
	for w := range workers {
		for i := range 50 {
			dl, ok := tr.Deadline(fmt.Sprintf("w%d-n%d", w, i))
			must.True(t, ok)
			must.Eq(t, epoch.Add(time.Duration(w*50+i+1)*time.Millisecond), dl)
		}
	}
	clk.Advance(time.Duration(workers*50) * time.Millisecond)
	must.Eq(t, 0, tr.Len())
}
