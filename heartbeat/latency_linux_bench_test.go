//go:build linux

package heartbeat

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// BenchmarkMemoryLatencyHugePages is BenchmarkMemoryLatency at 32 MiB in an
// anonymous mapping advised MADV_HUGEPAGE: if 2 MiB pages made the misses
// cheaper (fewer TLB misses), the tracker could allocate its table that
// way. The huge-MiB metric says how much of the mapping the kernel backed
// with huge pages.
func BenchmarkMemoryLatencyHugePages(b *testing.B) {
	const size, align = 32 << 20, 2 << 20
	m, err := syscall.Mmap(-1, 0, size+align, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		b.Skip("mmap:", err)
	}
	defer syscall.Munmap(m)
	skip := int(-uintptr(unsafe.Pointer(unsafe.SliceData(m))) & (align - 1))
	mem := m[skip : skip+size]
	const madvHugepage = 14 // MADV_HUGEPAGE
	if err := syscall.Madvise(mem, madvHugepage); err != nil {
		b.Skip("madvise:", err)
	}
	before := anonHugeKiB()
	chase(b, mem)
	b.ReportMetric(float64(anonHugeKiB()-before)/1024, "huge-MiB")
}

// anonHugeKiB is the process's AnonHugePages, in KiB (0 if unknown).
func anonHugeKiB() int {
	data, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		return 0
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "AnonHugePages:" {
			n, _ := strconv.Atoi(string(f[1]))
			return n
		}
	}
	return 0
}
