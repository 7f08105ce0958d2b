package system

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stickyhq/sticky/internal/selfcpu"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat: clock ticks of
// USER_HZ, 100 on every Linux architecture Go supports.
const userHZ = 100

// harnessCPU is the CPU seconds (user + system) the harness's process has
// spent so far, every goroutine of it included.
func harnessCPU() float64 { return selfcpu.Used().Seconds() }

// procCPU is the CPU seconds (utime + stime) a process has spent so far,
// from /proc/<pid>/stat (Linux only).
func procCPU(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseProcStat(string(b))
}

// parseProcStat reads utime and stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses, so the fields are counted after the
// last ')'.
func parseProcStat(s string) (float64, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("cannot parse /proc stat: no command name")
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse /proc stat: %d fields after the command name", len(f))
	}
	var ticks int64
	for _, x := range f[11:13] {
		n, err := strconv.ParseInt(x, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cannot parse /proc stat: %w", err)
		}
		ticks += n
	}
	return float64(ticks) / userHZ, nil
}

// cpuMark is a reading of both processes' CPU at one instant.
type cpuMark struct {
	at      time.Time
	target  float64
	harness float64
	ok      bool // the target's reading succeeded
}

// targetCPU reads the CPU seconds of the target's processes: from /proc
// for the processes the harness started, else (a deployment elsewhere, or
// no /proc) from the target's process_cpu_seconds_total.
func (m *measure) targetCPU(ctx context.Context) (float64, string, error) {
	if len(m.pids) > 0 {
		total := 0.0
		var err error
		for _, pid := range m.pids {
			var s float64
			if s, err = procCPU(pid); err != nil {
				break
			}
			total += s
		}
		if err == nil {
			return total, "/proc", nil
		}
	}
	met, err := scrape(ctx, m.client, m.base+"/metrics")
	if err != nil {
		return 0, "", err
	}
	v, ok := met["process_cpu_seconds_total"]
	if !ok {
		return 0, "", errors.New("the target's /metrics has no process_cpu_seconds_total")
	}
	return v, "process_cpu_seconds_total", nil
}

// markCPU reads both processes' CPU now.
func (m *measure) markCPU(ctx context.Context) cpuMark {
	c := cpuMark{at: time.Now(), harness: harnessCPU()}
	v, src, err := m.targetCPU(ctx)
	if err != nil {
		m.cpuErr = err
		return c
	}
	c.target, c.ok = v, true
	m.t.CPU.Source = src
	return c
}

// phaseCPU is the CPU spent between two marks; the target's figure is
// zero (not measured) unless both of its readings succeeded.
func phaseCPU(from, to cpuMark) PhaseCPU {
	p := PhaseCPU{Seconds: to.at.Sub(from.at).Seconds(), HarnessSeconds: to.harness - from.harness}
	if from.ok && to.ok {
		p.TargetSeconds = max(to.target-from.target, 0)
	}
	return p
}
