package cmdlog

import (
	"github.com/rejoinhq/rejoin/clock"
	"github.com/rejoinhq/rejoin/structs"
)

// Sink adapts l to state.Store.SetCommandSink: every applied command is
// appended with Time from c. The store calls it under its write lock, so
// it only buffers; the caller decides when to Sync (one fsync per batch of
// commands). An append error (the log is closed, the disk failed) goes to
// onErr, if set: the command is already applied and cannot be refused.
func Sink(l *Log, c clock.Clock, onErr func(error)) func(index uint64, t structs.MessageType, payload []byte) {
	return func(index uint64, t structs.MessageType, payload []byte) {
		err := l.Append(Record{Index: index, Time: c.Now(), Type: t, Payload: payload})
		if err != nil && onErr != nil {
			onErr(err)
		}
	}
}
