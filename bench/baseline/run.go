package baseline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/stickyhq/sticky/features"
)

// Run runs the catalogue consumer, the events consumer and the HTTP API
// until ctx is cancelled or one of them fails. The events consumer starts
// once the catalogue's initial load is done, which is also when /healthz
// starts answering 200. On cancel it stops, in order: the HTTP server
// (requests in flight finish, 5 s at most), the consumers (the batch in
// flight is written and committed; the client leaves the group), the Redis
// client. It returns nil after a cancel, or the first failure.
func Run(ctx context.Context, o Options, log *slog.Logger) error {
	o.EnsureDefaults()
	if err := o.validate(); err != nil {
		if o.Listener != nil {
			o.Listener.Close()
		}
		return err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rdb := redis.NewClient(&redis.Options{Addr: o.Redis})
	defer rdb.Close()
	pctx, cancelPing := context.WithTimeout(ctx, 10*time.Second)
	err := rdb.Ping(pctx).Err()
	cancelPing()
	if err != nil {
		if o.Listener != nil {
			o.Listener.Close()
		}
		return fmt.Errorf("cannot reach redis at %s: %w", o.Redis, err)
	}
	ln := o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", o.HTTP); err != nil {
			return fmt.Errorf("cannot listen for http: %w", err)
		}
	}

	m := newMetrics()
	items := NewItems(nil)
	var ready atomic.Bool
	loaded := make(chan struct{})
	svc := &service{o: &o, rdb: rdb, cat: items, m: m, log: log, ready: &ready}
	srv := &http.Server{Handler: svc.handler(), ReadHeaderTimeout: 10 * time.Second}
	cons := &consumer{o: &o, rdb: rdb, cat: items, m: m, log: log, bad: newOnceLog(log), zones: features.NewZones()}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		part string
		err  error
	}
	results := make(chan result, 3) // one per part; never blocks
	var wg sync.WaitGroup
	wg.Go(func() {
		err := loadCatalogue(ctx, &o, items, func() { ready.Store(true); close(loaded) }, log)
		results <- result{"catalogue consumer", err}
	})
	wg.Go(func() {
		select {
		case <-loaded:
			results <- result{"events consumer", cons.run(ctx)}
		case <-ctx.Done():
			results <- result{"events consumer", nil}
		}
	})
	wg.Go(func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		results <- result{"http server", err}
	})
	log.Info("baseline running", "http", ln.Addr().String(), "redis", o.Redis, "topic", o.Topic, "group", o.Group)

	var first error
	select {
	case <-ctx.Done():
	case r := <-results: // a part stopped before cancel: that is a failure
		first = r.err
		if first == nil {
			first = fmt.Errorf("%s stopped unexpectedly", r.part)
		}
		first = fmt.Errorf("baseline %s: %w", r.part, first)
		log.Error("baseline part failed; stopping", "part", r.part, "err", r.err)
	}

	sctx, cancelShutdown := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		if first == nil {
			first = fmt.Errorf("cannot shut the http server down: %w", err)
		}
	}
	cancelShutdown()
	cancel()
	wg.Wait()
	close(results)
	for r := range results {
		if r.err != nil && first == nil {
			first = fmt.Errorf("baseline %s: %w", r.part, r.err)
		}
	}
	return first
}
