package quality

import (
	"sync"
	"testing"

	"github.com/stickyhq/sticky/bench/workload"
	"github.com/stickyhq/sticky/stream/streamtest"
)

// The Online Retail data set, read once for the package's tests: reading
// it takes about 20 s under the race detector.
var retail struct {
	sync.Mutex
	w *workload.Workload
}

// onlineRetail returns the first n sales of Online Retail (a copy of the
// shared workload's header: do not modify the events), or skips the test
// without the data set (fails it under STICKY_TEST_REQUIRE_DATA=1).
func onlineRetail(t *testing.T, n int) *workload.Workload {
	t.Helper()
	dir := streamtest.DataDir(t)
	retail.Lock()
	defer retail.Unlock()
	if retail.w == nil {
		w, err := workload.Dataset("online-retail", dir)
		if err != nil {
			t.Fatal(err)
		}
		retail.w = w
	}
	w := *retail.w
	w.Limit(n)
	return &w
}
