package stream

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// EnsureTopics creates the events, items (compacted) and DLQ topics if they
// do not exist.
func EnsureTopics(ctx context.Context, cfg Config) error {
	cfg.EnsureDefaults()
	cl, err := kgo.NewClient(cfg.clientOpts()...)
	if err != nil {
		return fmt.Errorf("cannot create admin client: %w", err)
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("cannot reach the brokers %v: %w", cfg.Brokers, err)
	}
	adm := kadm.NewClient(cl)
	for _, t := range []struct {
		name  string
		parts int
		conf  map[string]*string
	}{
		{cfg.EventsTopic, cfg.Partitions, nil},
		{cfg.ItemsTopic, cfg.ItemsPartitions, map[string]*string{"cleanup.policy": kadm.StringPtr("compact")}},
		{cfg.DLQTopic, cfg.Partitions, nil},
	} {
		_, err := adm.CreateTopic(ctx, int32(t.parts), cfg.ReplicationFactor, t.conf, t.name)
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("cannot create topic %s: %w", t.name, err)
		}
	}
	// A real cluster creates topics asynchronously: wait until every
	// partition of the three has a leader, or the first reader fails.
	names := []string{cfg.EventsTopic, cfg.ItemsTopic, cfg.DLQTopic}
	for {
		td, err := adm.ListTopics(ctx, names...)
		if err == nil {
			ready := true
			for _, n := range names {
				d, ok := td[n]
				if !ok || d.Err != nil || len(d.Partitions) == 0 {
					ready = false
					break
				}
				for _, p := range d.Partitions {
					if p.Err != nil || p.Leader < 0 {
						ready = false
					}
				}
			}
			if ready {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics %v are not ready: %w", names, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
