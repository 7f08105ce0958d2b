// Package engine wires Sticky's parts into one running service: the
// embedded broker (when no brokers are given), the state store, the
// catalogue loader, the events consumer, the ranker and the HTTP API with
// its metrics. cmd/sticky maps flags and STICKY_* variables onto Config and
// calls Start; tests and the benchmark harness start engines the same way.
// Start reads as the list of its steps; the parts own their logic and
// defaults, the engine only wires them.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/ranker/campaigns"
	"github.com/stickyhq/sticky/state"
	"github.com/stickyhq/sticky/stream"
)

// Config is the whole service's configuration: the engine's own settings
// and each component's Config. DefaultConfig holds the engine's defaults
// and each component's DefaultConfig; EnsureDefaults gives zero fields
// theirs.
type Config struct {
	// HTTPAddr is the API listen address. Default 127.0.0.1:8080; port 0
	// picks a free port (see Engine.Addr).
	HTTPAddr string
	// HTTPMaxInFlight bounds the API requests served at once (health
	// checks and /metrics are not counted); a request beyond it gets 503
	// with Retry-After at once instead of waiting. Default 64 per
	// GOMAXPROCS (128 on 2 cores): a recommendation takes well under a
	// millisecond of CPU, so a full queue still drains within tens of
	// milliseconds.
	HTTPMaxInFlight int
	// DataDir holds Badger (state/) and the embedded broker's log (kafka/).
	// Default ./sticky-data.
	DataDir string
	// Brokers of an existing Kafka cluster. Default none: start the
	// embedded broker.
	Brokers []string
	// EmbeddedKafka is the embedded broker's listen address. Default
	// 127.0.0.1:9092; port 0 picks a free port.
	EmbeddedKafka string
	// EmbeddedKafkaSync makes the embedded broker fsync every produce, so
	// an acknowledged event survives a machine crash. Default false (a
	// killed process loses nothing either way).
	EmbeddedKafkaSync bool
	// ReadyLag is the largest total consumer lag (records) at which
	// /readyz still reports ready. Default 1000.
	ReadyLag int64

	Stream   stream.Config      // Brokers is set by Start: Brokers, or the embedded broker
	Features features.Config    // how events fold into features
	Ranker   ranker.Config      // candidates, scoring and boosts
	Index    ranker.IndexConfig // the item index's lists
	Audience audience.Config    // Store is set by Start
	Push     campaigns.Config   // Observer is set by Start
	State    state.Config       // Dir is set by Start: DataDir/state; CacheBytes sizes the user-vector cache

	// Logger defaults to slog.Default(); components without a Logger of
	// their own log to it.
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		HTTPAddr: "127.0.0.1:8080", HTTPMaxInFlight: 64 * runtime.GOMAXPROCS(0), DataDir: "./sticky-data", EmbeddedKafka: "127.0.0.1:9092", ReadyLag: 1000,
		Stream: stream.DefaultConfig(), Features: features.DefaultConfig(), Ranker: ranker.DefaultConfig(),
		Index: ranker.DefaultIndexConfig(), Audience: audience.DefaultConfig(), Push: campaigns.DefaultConfig(),
		State: state.DefaultConfig(),
	}
}

// EnsureDefaults gives zero fields their defaults, each component's by its
// own EnsureDefaults.
func (c *Config) EnsureDefaults() {
	d := DefaultConfig()
	for _, f := range []struct{ v, d *string }{
		{&c.HTTPAddr, &d.HTTPAddr}, {&c.DataDir, &d.DataDir}, {&c.EmbeddedKafka, &d.EmbeddedKafka},
	} {
		if *f.v == "" {
			*f.v = *f.d
		}
	}
	if c.ReadyLag == 0 {
		c.ReadyLag = d.ReadyLag
	}
	if c.HTTPMaxInFlight == 0 {
		c.HTTPMaxInFlight = d.HTTPMaxInFlight
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	for _, l := range []**slog.Logger{&c.Stream.Logger, &c.Audience.Logger, &c.Push.Logger, &c.State.Logger} {
		if *l == nil {
			*l = c.Logger
		}
	}
	c.Stream.EnsureDefaults()
	c.Features.EnsureDefaults()
	c.Ranker.EnsureDefaults()
	c.Index.EnsureDefaults()
	c.Audience.EnsureDefaults()
	c.Push.EnsureDefaults()
	c.State.EnsureDefaults()
}

// Validate reports the first setting that cannot work. Zero fields are
// errors where zero is not a valid setting: call it before EnsureDefaults to
// reject them, after to check what Start will run with.
func (c *Config) Validate() error {
	if c.HTTPMaxInFlight < 0 {
		return fmt.Errorf("HTTPMaxInFlight must be positive, got %d", c.HTTPMaxInFlight)
	}
	if c.Stream.Partitions < 1 {
		return fmt.Errorf("stream: Partitions must be at least 1, got %d", c.Stream.Partitions)
	}
	if err := c.Features.Validate(); err != nil {
		return err
	}
	if err := c.Audience.Validate(); err != nil {
		return err
	}
	return c.Push.Validate()
}

// Engine is a running Sticky.
type Engine struct {
	cfg       Config
	log       *slog.Logger
	broker    *kfake.Cluster
	brokers   []string
	store     *state.Store
	prod      *stream.Producer
	cat       *state.Catalogue
	extractor *features.Extractor
	idx       *ranker.Index
	feed      *ranker.Coalescer // the consumer's way into idx
	aud       *audience.Table
	campaigns *campaigns.Service
	rank      *ranker.Ranker
	loader    *stream.CatalogueLoader
	cons      *stream.Consumer
	reg       *prometheus.Registry
	met       *metrics
	limit     *limiter
	httpSrv   *http.Server
	httpLn    net.Listener

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	errMu     sync.Mutex
	runErr    error
	closeOnce sync.Once
	closeErr  error
	started   time.Time
}

// Start starts every part and returns once the HTTP API is listening. The
// consumer starts once the catalogue has caught up; /readyz tells when the
// engine has caught up with the events topic. ctx bounds start-up only.
func Start(ctx context.Context, cfg Config) (*Engine, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, extractor: features.NewExtractor(cfg.Features), reg: prometheus.NewRegistry(), started: time.Now()}
	e.met = newMetrics(e.reg, e)
	e.limit = newLimiter(cfg.HTTPMaxInFlight, e.met.shed)
	for _, step := range []func(context.Context) error{
		e.startBroker,  // the embedded broker, unless Brokers are given
		e.openState,    // Badger, behind the user-vector cache
		e.ensureTopics, // the events, items and DLQ topics, and the producer
		e.loadState,    // the catalogue, the item index and the audience
		e.newRanker,
		e.newPush,   // campaigns, restored from the store
		e.newStream, // the catalogue loader and the events consumer
		e.listen,    // the HTTP API
	} {
		if err := step(ctx); err != nil {
			e.Close()
			return nil, err
		}
	}
	e.run()
	e.log.Info("sticky is serving", "http", e.Addr(), "brokers", e.brokers, "data", cfg.DataDir)
	return e, nil
}

// startBroker starts the embedded broker unless brokers are given, and
// points the stream configuration at the brokers.
func (e *Engine) startBroker(context.Context) error {
	if err := os.MkdirAll(e.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("cannot create data directory: %w", err)
	}
	e.brokers = e.cfg.Brokers
	if len(e.brokers) == 0 {
		addr, err := e.startEmbeddedBroker()
		if err != nil {
			return err
		}
		e.brokers = []string{addr}
		e.log.Info("embedded Kafka-protocol broker listening", "addr", addr, "dir", filepath.Join(e.cfg.DataDir, "kafka"))
	}
	e.cfg.Stream.Brokers = e.brokers
	return nil
}

// openState opens Badger in DataDir/state.
func (e *Engine) openState(context.Context) error {
	e.cfg.State.Dir = filepath.Join(e.cfg.DataDir, "state")
	// Item shares are recovered with the consumer's fold (loadState).
	e.cfg.State.ApplyDeltas = e.extractor.ApplyDeltas
	var err error
	e.store, err = state.Open(e.cfg.State)
	return err
}

// ensureTopics creates missing topics and starts the producer of the
// events API and of dead letters.
func (e *Engine) ensureTopics(ctx context.Context) error {
	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := stream.EnsureTopics(tctx, e.cfg.Stream)
	cancel()
	if err != nil {
		return err
	}
	e.prod, err = stream.NewProducer(e.cfg.Stream)
	return err
}

// loadState loads the catalogue, builds the item index from the store and
// prepares the audience: its saved fit is restored now, its users are
// loaded in the background (run) while the engine serves.
func (e *Engine) loadState(context.Context) error {
	var err error
	if e.cat, err = state.LoadCatalogue(e.store); err != nil {
		return err
	}
	t0 := time.Now()
	e.idx = ranker.NewIndex(e.cfg.Index, e.extractor, e.cat)
	e.feed = ranker.NewCoalescer(e.idx, e.cfg.Index.ApplyEvery)
	err = e.idx.Load(func(add func(string, *features.ItemStats)) error {
		return e.store.ScanItemParts(func(_ int32, item string, st *features.ItemStats) error {
			add(item, st)
			return nil
		})
	})
	if err != nil {
		return err
	}
	ac := e.cfg.Audience
	ac.Store = e.store
	e.aud = audience.New(ac, e.extractor)
	if err := e.aud.LoadFit(e.store); err != nil {
		return err
	}
	e.aud.BeginLoad()
	e.log.Info("state loaded; the audience loads in the background", "catalogue_items", e.cat.Len(),
		"indexed_items", e.idx.Size().Items, "took", time.Since(t0).Round(time.Millisecond))
	return nil
}

// loadAudience loads the audience's users from the store while the
// consumer already feeds it (see audience.Table.LoadUsers), until done or
// ctx is canceled.
func (e *Engine) loadAudience(ctx context.Context) {
	if err := e.aud.LoadUsers(ctx, e.store); err != nil {
		if ctx.Err() == nil {
			e.fail(err)
		}
		return
	}
	e.log.Info("audience loaded", "users", e.aud.Len(), "took", e.aud.LoadStats().Took.Round(time.Millisecond))
}

// newRanker builds the ranker on the index and the audience.
func (e *Engine) newRanker(context.Context) error {
	e.rank = ranker.New(e.cfg.Ranker, e.extractor, e.store.Views(), e.cat, e.idx)
	if err := e.rank.WithAudience(e.aud); err != nil {
		return fmt.Errorf("invalid ranker configuration: %w", err)
	}
	return nil
}

// newPush builds the push service and restores its campaigns.
func (e *Engine) newPush(context.Context) error {
	pc := e.cfg.Push
	pc.Observer = e.met
	e.campaigns = campaigns.New(pc, e.aud, e.cat, e.store.Push())
	if err := e.campaigns.Load(); err != nil {
		return fmt.Errorf("cannot load push campaigns: %w", err)
	}
	return nil
}

// newStream builds the catalogue loader and the events consumer.
func (e *Engine) newStream(context.Context) error {
	e.loader = stream.NewCatalogueLoader(e.cfg.Stream, e.store, e.cat, e.prod)
	var err error
	e.cons, err = stream.NewConsumer(e.cfg.Stream, stream.Deps{
		Store: e.store, Extractor: e.extractor, Catalogue: e.cat, Sink: sink{e.feed, e.aud}, Observer: e.met, DLQ: e.prod,
		Trainer: trainer{e.rank.Model(), e.log}, Priority: &e.limit.gate,
	})
	return err
}

// listen binds the HTTP API's address.
func (e *Engine) listen(context.Context) error {
	var err error
	if e.httpLn, err = net.Listen("tcp", e.cfg.HTTPAddr); err != nil {
		return fmt.Errorf("cannot listen on %s: %w", e.cfg.HTTPAddr, err)
	}
	e.httpSrv = &http.Server{Handler: e.routes(), ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// run starts the background work: the audience's load, recounts and
// refits, the HTTP server, and the stream. Close stops them.
func (e *Engine) run() {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(4)
	go func() {
		defer e.wg.Done()
		e.loadAudience(ctx)
	}()
	go func() {
		defer e.wg.Done()
		e.aud.Run(ctx)
	}()
	go func() {
		defer e.wg.Done()
		if err := e.httpSrv.Serve(e.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.fail(fmt.Errorf("http server: %w", err))
		}
	}()
	go func() {
		defer e.wg.Done()
		e.runStream(ctx)
	}()
}

// sink hands the item deltas of every applied batch to the item index
// (through a Coalescer), and the users of every flush to the audience: a
// user's targeting record is rebuilt once per flush (about a second), not
// once per batch (a few events), which cost ~13 µs per live event.
type sink struct {
	idx *ranker.Coalescer
	aud *audience.Table
}

func (s sink) Applied(_ []*features.User, d *features.Deltas) { s.idx.Apply(d) }

func (s sink) Flushed(users []*features.User) { s.aud.Update(users) }

// trainer is the ranker's model as the consumer's Trainer.
type trainer struct {
	m   *ranker.Model
	log *slog.Logger
}

func (t trainer) Share(data []byte) (stream.TrainerShare, error) { return t.m.NewShare(data) }

func (t trainer) Committed(partition int32, data []byte) {
	if err := t.m.Publish(partition, data); err != nil {
		// The worker decoded this share a moment ago.
		t.log.Error("BUG: cannot publish a committed model share", "partition", partition, "err", err)
	}
}

// runStream runs the catalogue loader, and the consumer once the catalogue
// has caught up, until ctx is canceled.
func (e *Engine) runStream(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := e.loader.Run(ctx); err != nil {
			e.fail(fmt.Errorf("catalogue loader: %w", err))
		}
	}()
	select {
	case <-e.loader.CaughtUp():
		e.log.Info("catalogue caught up", "items", e.cat.Len())
		if err := e.cons.Run(ctx); err != nil {
			e.fail(fmt.Errorf("consumer: %w", err))
		}
	case <-ctx.Done():
	}
	wg.Wait()
}

func (e *Engine) fail(err error) {
	e.log.Error("component failed", "err", err)
	e.errMu.Lock()
	if e.runErr == nil {
		e.runErr = err
	}
	e.errMu.Unlock()
}

// Err returns the first error a background component stopped with.
func (e *Engine) Err() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	return e.runErr
}

// startEmbeddedBroker starts kfake on EmbeddedKafka with its log in
// DataDir/kafka and returns its address.
func (e *Engine) startEmbeddedBroker() (string, error) {
	host, port, err := net.SplitHostPort(e.cfg.EmbeddedKafka)
	if err != nil {
		return "", fmt.Errorf("bad embedded Kafka address %q: %w", e.cfg.EmbeddedKafka, err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return "", fmt.Errorf("bad embedded Kafka port %q: %w", port, err)
	}
	opts := []kfake.Opt{
		kfake.NumBrokers(1),
		kfake.Ports(p),
		kfake.DataDir(filepath.Join(e.cfg.DataDir, "kafka")),
		kfake.DefaultNumPartitions(max(e.cfg.Stream.Partitions, 1)),
		// kfake binds 127.0.0.1; bind the configured host instead.
		kfake.ListenFn(func(network, addr string) (net.Listener, error) {
			_, port, _ := net.SplitHostPort(addr)
			return net.Listen(network, net.JoinHostPort(host, port))
		}),
	}
	if e.cfg.EmbeddedKafkaSync {
		opts = append(opts, kfake.SyncWrites())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return "", fmt.Errorf("cannot start embedded broker on %s: %w", e.cfg.EmbeddedKafka, err)
	}
	e.broker = c
	return c.ListenAddrs()[0], nil
}

// Addr returns the HTTP API's address.
func (e *Engine) Addr() string {
	if e.httpLn == nil {
		return ""
	}
	return e.httpLn.Addr().String()
}

// Brokers returns the brokers the engine uses (the embedded one's address
// when it runs one).
func (e *Engine) Brokers() []string { return e.brokers }

// StreamConfig returns the effective stream configuration (topics, group).
func (e *Engine) StreamConfig() stream.Config { return e.cfg.Stream }

// Handler returns the HTTP API, for tests that serve it themselves.
func (e *Engine) Handler() http.Handler { return e.httpSrv.Handler }

// Close shuts down in order: stop accepting HTTP requests (in-flight ones
// finish), stop the consumer (the batch in flight commits), stop the
// catalogue loader, close the producer, close Badger, stop the embedded
// broker. It is safe to call more than once and returns the first error.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		var errs []error
		if e.httpSrv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := e.httpSrv.Shutdown(ctx); err != nil {
				errs = append(errs, fmt.Errorf("cannot shut down http: %w", err))
			}
			cancel()
		} else if e.httpLn != nil {
			e.httpLn.Close()
		}
		if e.cancel != nil {
			e.cancel()
		}
		e.wg.Wait()
		if e.feed != nil {
			e.feed.Flush()
		}
		if e.prod != nil {
			e.prod.Close()
		}
		if e.store != nil {
			if err := e.store.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if e.broker != nil {
			e.broker.Close()
		}
		e.closeErr = errors.Join(errs...)
		if e.log != nil {
			e.log.Info("sticky stopped")
		}
	})
	return e.closeErr
}
