package reconcile

// SetAllocMemoFill sets how many one-by-one AllocsByJob reads a worker
// makes at one allocs version before it scans the table (for workers
// created afterwards) and returns a func restoring the old value. Tests
// using it must not run in parallel.
func SetAllocMemoFill(n int) (restore func()) {
	old := allocMemoFill
	allocMemoFill = n
	return func() { allocMemoFill = old }
}
