// Package selfcpu reads the CPU time the running process has used, for
// benchmarks and the harness that report CPU per operation beside wall
// time (steadier on a shared machine).
package selfcpu

import (
	"syscall"
	"time"
)

// Used returns the CPU time (user and system) the process has used so
// far, every goroutine included; 0 if the system cannot tell.
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
