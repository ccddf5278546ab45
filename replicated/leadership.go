package replicated

import "time"

// monitor turns raft's leadership notifications into OnLeader and
// OnFollower calls, one at a time and in order.
func (r *Replica) monitor(notify <-chan bool) {
	defer close(r.monitorDone)
	var stop, done chan struct{} // the lead goroutine of the current term
	stepDown := func() {
		if stop == nil {
			return
		}
		close(stop)
		<-done
		stop, done = nil, nil
		r.leading.Store(false)
		r.cfg.OnFollower()
		r.logger.Info("leadership lost: heartbeat timers cleared, worker stopped")
	}
	for {
		select {
		case <-r.shutdownCh:
			stepDown()
			return
		case leader := <-notify:
			if !leader {
				stepDown()
				continue
			}
			if stop == nil {
				stop, done = make(chan struct{}), make(chan struct{})
				go r.lead(stop, done)
			}
		}
	}
}

// lead waits until every entry of earlier terms is applied (a barrier),
// then runs OnLeader. A new leader must not judge heartbeats or run
// evaluations on state that is missing committed writes.
func (r *Replica) lead(stop, done chan struct{}) {
	defer close(done)
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := r.await(r.raft.Barrier(r.cfg.BarrierTimeout))
		if err == nil {
			break
		}
		r.logger.Warn("leader barrier failed; retrying", "error", err)
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
	}
	select {
	case <-stop:
		return // lost it while waiting
	default:
	}
	r.leading.Store(true)
	r.logger.Info("leadership gained", "index", r.cfg.Store.LatestIndex())
	r.cfg.OnLeader()
}
