package stream

import (
	"log/slog"
	"sync"
	"time"
)

// limitedLog logs at most perSecond messages a second and then one line
// saying how many it dropped.
type limitedLog struct {
	l         *slog.Logger
	perSecond int

	mu      sync.Mutex
	window  time.Time
	n       int
	dropped int
}

func newLimitedLog(l *slog.Logger, perSecond int) *limitedLog {
	return &limitedLog{l: l, perSecond: perSecond}
}

func (ll *limitedLog) Warn(msg string, args ...any) {
	ll.mu.Lock()
	now := time.Now()
	if now.Sub(ll.window) >= time.Second {
		if ll.dropped > 0 {
			ll.l.Warn("log lines dropped by rate limit", "dropped", ll.dropped, "last_message", msg)
		}
		ll.window, ll.n, ll.dropped = now, 0, 0
	}
	ok := ll.n < ll.perSecond
	if ok {
		ll.n++
	} else {
		ll.dropped++
	}
	ll.mu.Unlock()
	if ok {
		ll.l.Warn(msg, args...)
	}
}
