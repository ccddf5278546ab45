package rejoin

// WithLogSegmentSize makes the command log rotate every n bytes, so tests
// see compaction without writing 64 MiB.
func WithLogSegmentSize(n int64) Option { return func(o *options) { o.logSegmentSize = n } }
