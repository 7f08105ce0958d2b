// Package streamtest holds what tests against a Kafka broker share: the
// broker itself (franz-go's kfake in process, or the real cluster named by
// STICKY_TEST_BROKERS), unique topic names, reading a topic back, and the
// reference fold that the state must equal.
//
// It is imported by tests only.
package streamtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/state"
	"github.com/stickyhq/sticky/stream"
)

// Environment variables of the real-broker suite.
const (
	// EnvBrokers names a real Kafka cluster (comma-separated); when set,
	// the integration tests run against it instead of kfake.
	EnvBrokers = "STICKY_TEST_BROKERS"
	// EnvRequire, set to 1, turns "no real broker" from a skip into a
	// failure: CI sets it so that the real suite can never silently not run.
	EnvRequire = "STICKY_TEST_REQUIRE_KAFKA"
	// EnvKafkaLibs is the directory of the Apache Kafka jars (.ci/kafka).
	EnvKafkaLibs = "STICKY_TEST_KAFKA_LIBS"
)

// EnvRequireData, set to 1, turns "data sets not found" into a failure.
const EnvRequireData = "STICKY_TEST_REQUIRE_DATA"

// DataDir returns the shared data sets directory, ../shared/data beside the
// repository, or skips the test (fails it under EnvRequireData=1).
func DataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; d != filepath.Dir(d); d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			p := filepath.Join(d, "..", "shared", "data")
			if _, err := os.Stat(p); err != nil {
				msg := "data sets not found at " + p + " (they sit beside the repository as ../shared/data)"
				if os.Getenv(EnvRequireData) == "1" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
			return p
		}
	}
	t.Fatal("no go.mod above " + dir)
	return ""
}

// RealBrokers returns the real brokers of EnvBrokers, or nil.
func RealBrokers() []string {
	v := strings.TrimSpace(os.Getenv(EnvBrokers))
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// RequireReal returns the real brokers, or skips the test (fails it when
// EnvRequire is 1) with a message saying how to run it.
func RequireReal(t testing.TB) []string {
	t.Helper()
	bs := RealBrokers()
	if len(bs) == 0 {
		msg := "needs a real Kafka broker: run `make kafka-up` and set " + EnvBrokers + " as it prints (make test-kafka does both)"
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bs
}

// Brokers returns the brokers a test should use: the real ones when
// EnvBrokers is set, else a fresh single-broker kfake cluster closed at the
// end of the test (returned, for fault injection; nil with a real broker).
func Brokers(t testing.TB) ([]string, *kfake.Cluster) {
	t.Helper()
	if bs := RealBrokers(); len(bs) > 0 {
		return bs, nil
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs(), c
}

// Unique returns a name no other test uses, for topic prefixes and groups
// on a shared broker.
func Unique(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// WaitFor polls fn until it returns nil or the timeout passes.
func WaitFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v: %v", timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// EndOffsets returns the end offset of every partition of topic.
func EndOffsets(t testing.TB, brokers []string, topic string, opts ...kgo.Opt) map[int32]int64 {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			t.Fatalf("end offset of %s/%d: %v", topic, o.Partition, o.Err)
		}
		out[o.Partition] = o.Offset
	})
	return out
}

// ReadLog reads a whole topic back, per partition in offset order.
func ReadLog(t testing.TB, brokers []string, topic string, opts ...kgo.Opt) map[int32][]*kgo.Record {
	t.Helper()
	ends := EndOffsets(t, brokers, topic, opts...)
	next := map[int32]int64{} // next offset expected per partition
	done := func() bool {
		for p, e := range ends {
			if next[p] < e {
				return false
			}
		}
		return true
	}
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(64 << 20)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out := map[int32][]*kgo.Record{}
	for !done() {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("reading %s up to %v: got to %v: %v", topic, ends, next, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if r.Offset < ends[r.Partition] {
				out[r.Partition] = append(out[r.Partition], r)
				next[r.Partition] = r.Offset + 1
			}
		})
	}
	return out
}

// Reference is a single fold of an events log: what the state must equal.
type Reference struct {
	Users   map[string]*features.User
	Items   map[int32]map[string]*features.ItemStats // per partition share
	Applied int                                      // events folded (not malformed, not duplicates)
	Records int
}

// Fold folds a log in one pass, per partition in offset order, exactly as
// the consumer must in effect: records the consumer parks on the DLQ are
// skipped, items come from cat.
func Fold(log map[int32][]*kgo.Record, f *features.Extractor, cat *state.Catalogue, maxSkew time.Duration) *Reference {
	ref := &Reference{Users: map[string]*features.User{}, Items: map[int32]map[string]*features.ItemStats{}}
	for p, recs := range log {
		items := map[string]*features.ItemStats{}
		ref.Items[p] = items
		share := func(id string) *features.ItemStats {
			s := items[id]
			if s == nil {
				s = new(features.ItemStats)
				items[id] = s
			}
			return s
		}
		for _, r := range recs {
			ref.Records++
			ev, err := stream.DecodeRecord(r, f.Zones(), maxSkew)
			if err != nil {
				continue
			}
			u := ref.Users[ev.UserID]
			if u == nil {
				u = &features.User{ID: ev.UserID}
				ref.Users[ev.UserID] = u
			}
			var d features.Deltas
			var it *features.Item
			if ev.ItemID != "" {
				it = cat.Get(ev.ItemID)
			}
			if f.FoldUser(u, &ev, it, &d) {
				ref.Applied++
			}
			f.ApplyDeltas(&d, share)
		}
	}
	return ref
}

// Compare checks, byte for byte, that store holds exactly the reference's
// user vectors and item shares. It returns how many of each it compared.
func (ref *Reference) Compare(store *state.Store) (users, items int, err error) {
	err = store.ScanUsers(func(u *features.User) error {
		users++
		r := ref.Users[u.ID]
		if r == nil {
			return fmt.Errorf("user %q is in the store but not in the log", u.ID)
		}
		if !bytes.Equal(state.AppendUser(nil, u), state.AppendUser(nil, r)) {
			return fmt.Errorf("user %q differs from the reference fold: %d events stored, %d in the log", u.ID, u.Events, r.Events)
		}
		return nil
	})
	if err != nil {
		return users, items, err
	}
	if users != len(ref.Users) {
		return users, items, fmt.Errorf("the store holds %d users, the log %d", users, len(ref.Users))
	}
	for p, want := range ref.Items {
		seen := 0
		err := store.LoadItemParts(p, func(item string, st *features.ItemStats) error {
			seen++
			r := want[item]
			if r == nil {
				return fmt.Errorf("partition %d: item %q is in the store but not in the log", p, item)
			}
			if !bytes.Equal(state.AppendItemStats(nil, st), state.AppendItemStats(nil, r)) {
				return fmt.Errorf("partition %d: item %q differs from the reference fold", p, item)
			}
			return nil
		})
		if err != nil {
			return users, items, err
		}
		if seen != len(want) {
			return users, items, fmt.Errorf("partition %d: the store holds %d item shares, the log %d", p, seen, len(want))
		}
		items += seen
	}
	return users, items, nil
}
