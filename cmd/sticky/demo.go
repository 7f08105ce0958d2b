package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/bench/synth"
	"github.com/stickyhq/sticky/cmd/sticky/engine"
	"github.com/stickyhq/sticky/stream"
)

// demo serves, seeds a synthetic shop and keeps shoppers coming until ctx
// is canceled.
func demo(ctx context.Context, cfg engine.Config, o demoOptions, stdout io.Writer) error {
	e, err := engine.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	log := cfg.Logger
	scfg := e.StreamConfig()
	opts := append([]kgo.Opt{kgo.SeedBrokers(e.Brokers()...), kgo.ProducerLinger(5 * time.Millisecond)}, scfg.ClientOpts...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("cannot create demo producer: %w", err)
	}
	defer cl.Close()

	w := synth.New(synth.Config{Seed: o.seed, Users: o.users, Items: o.items})
	recs := make([]*kgo.Record, 0, len(w.Items))
	for i := range w.Items {
		v, err := json.Marshal(&w.Items[i])
		if err != nil {
			return err
		}
		recs = append(recs, &kgo.Record{Topic: scfg.ItemsTopic, Key: []byte(w.Items[i].ID), Value: v})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		return fmt.Errorf("cannot seed the catalogue: %w", err)
	}
	log.Info("demo catalogue produced", "items", len(recs))
	// Events fold with their item's category: let the catalogue land first.
	for e.Readiness().CatalogueItems < len(w.Items) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}

	// History only on a fresh events topic: a restarted demo keeps its past.
	ends, err := kadm.NewClient(cl).ListEndOffsets(ctx, scfg.EventsTopic)
	if err != nil {
		return fmt.Errorf("cannot inspect %s: %w", scfg.EventsTopic, err)
	}
	var existing int64
	ends.Each(func(o kadm.ListedOffset) { existing += max(o.Offset, 0) })
	if existing == 0 && o.days > 0 {
		hist := w.History(o.days, time.Now())
		recs = recs[:0]
		for i := range hist {
			recs = append(recs, &kgo.Record{Topic: scfg.EventsTopic, Key: []byte(hist[i].UserID), Value: stream.AppendEvent(nil, &hist[i])})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			return fmt.Errorf("cannot produce history: %w", err)
		}
		log.Info("demo history produced", "events", len(recs), "days", o.days, "shoppers", len(w.Shoppers))
	}

	// Wait until the history is applied (lag measured after it was
	// produced, and small), then show what to ask.
	produced := time.Now()
	deadline := produced.Add(2 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if rd := e.Readiness(); rd.Ready && rd.LagMeasuredAt.After(produced) && rd.TotalLag == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	printExamples(stdout, "http://"+e.Addr(), w)

	// Live shoppers: sessions starting now, paced at about o.rate events/s.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	budget := 0.0
	for {
		select {
		case <-ctx.Done():
			log.Info("demo stopping")
			return e.Close()
		case <-tick.C:
		}
		budget += o.rate / 10
		for budget > 0 {
			evs := w.LiveSession(time.Now())
			for i := range evs {
				// Live sessions happen now, one event after another.
				evs[i].Time = time.Now()
				cl.Produce(ctx, &kgo.Record{Topic: scfg.EventsTopic, Key: []byte(evs[i].UserID), Value: stream.AppendEvent(nil, &evs[i])}, nil)
			}
			budget -= float64(len(evs))
		}
		if err := e.Err(); err != nil {
			return err
		}
	}
}

func printExamples(w io.Writer, base string, world *synth.World) {
	s := world.Shoppers[0]
	item := world.Items[0].ID
	u := s.ID
	morning, night := localAt(s, s.MorningHour), localAt(s, s.EveningHour+1)
	fmt.Fprintf(w, "\nSticky demo is running: %d items, %d shoppers, live events flowing.\n\n", len(world.Items), len(world.Shoppers))
	fmt.Fprintf(w, "Shopper %s lives in %s (%s): %s on %s around %02d:00, %s on %s around %02d:00 local time.\n\n",
		u, s.Region.Name, s.Region.TZ, catNames(world, s.MorningCats), s.MorningDevice, s.MorningHour,
		catNames(world, s.EveningCats), s.EveningDevice, s.EveningHour)
	lines := []string{
		"# what should " + u + " see now, in the morning on the phone, and at night on the desktop?",
		"curl -s '" + base + "/v1/recommendations?user_id=" + u + "&k=5'",
		"curl -s '" + base + "/v1/recommendations?user_id=" + u + "&k=5&device=" + s.MorningDevice + "&at=" + morning + "'",
		"curl -s '" + base + "/v1/recommendations?user_id=" + u + "&k=5&device=" + s.EveningDevice + "&at=" + night + "'",
		"# on a product page, excluding an item",
		"curl -s '" + base + "/v1/recommendations?user_id=" + u + "&k=5&item_id=" + item + "&page=pdp&exclude=sku-1'",
		"# a brand-new shopper in Shanghai",
		"curl -s '" + base + "/v1/recommendations?user_id=newcomer&k=5&region=CN-SH&tz=Asia/Shanghai'",
		"# the feature vector, decayed to now",
		"curl -s '" + base + "/v1/users/" + u + "/profile'",
		"# an item: catalogue entry, popularity, trend, co-occurring items",
		"curl -s '" + base + "/v1/items/" + item + "'",
		"# send an event (or an array of them)",
		"curl -s -XPOST '" + base + "/v1/events' -d '{\"user_id\":\"" + u + "\",\"type\":\"add_to_cart\",\"item_id\":\"" + item +
			"\",\"ts\":\"" + time.Now().UTC().Format(time.RFC3339) + "\",\"context\":{\"device\":\"mobile\"}}'",
		"# operations",
		"curl -s '" + base + "/readyz'; curl -s '" + base + "/metrics' | grep ^sticky_",
	}
	for _, l := range lines {
		fmt.Fprintln(w, "  "+l)
	}
	fmt.Fprintln(w, "\nCtrl-C stops it cleanly; run it again with the same --data to carry on.")
}

func catNames(w *synth.World, cats []int) string {
	names := make([]string, len(cats))
	for i, c := range cats {
		names[i] = w.CategoryName(c)
	}
	return strings.Join(names, "+")
}

// localAt returns today's hour h (and a half) in the shopper's zone, in UTC
// RFC 3339 (no '+' to escape in a URL).
func localAt(s *synth.Shopper, h int) string {
	loc, err := time.LoadLocation(s.Region.TZ)
	if err != nil {
		loc = time.UTC
	}
	now := time.Now().In(loc)
	return time.Date(now.Year(), now.Month(), now.Day(), h, 30, 0, 0, loc).UTC().Format(time.RFC3339)
}
