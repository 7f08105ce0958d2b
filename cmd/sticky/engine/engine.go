// Package engine wires Sticky's parts into one running service: the
// embedded broker (when no brokers are given), the state store, the
// catalogue loader, the events consumer, the ranker and the HTTP API with
// its metrics. cmd/sticky maps flags and STICKY_* variables onto Config and
// calls Start; tests and the benchmark harness start engines the same way.
package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/ranker/push"
	"github.com/stickyhq/sticky/state"
	"github.com/stickyhq/sticky/stream"
)

// Config is the whole service's configuration.
type Config struct {
	// HTTPAddr is the API listen address. Default 127.0.0.1:8080; port 0
	// picks a free port (see Engine.Addr).
	HTTPAddr string
	// DataDir holds Badger (state/) and the embedded broker's log (kafka/).
	// Default ./sticky-data.
	DataDir string
	// Brokers of an existing Kafka cluster; empty starts the embedded broker.
	Brokers []string
	// EmbeddedKafka is the embedded broker's listen address. Default
	// 127.0.0.1:9092; port 0 picks a free port.
	EmbeddedKafka string
	// EmbeddedKafkaSync makes the embedded broker fsync every produce, so
	// an acknowledged event survives a machine crash. Default false (a
	// killed process loses nothing either way).
	EmbeddedKafkaSync bool
	// CacheBytes sizes the user-vector cache. Default 256 MiB.
	CacheBytes int
	// ReadyLag is the largest total consumer lag (records) at which
	// /readyz still reports ready. Default 1000.
	ReadyLag int64

	Stream   stream.Config      // Brokers is filled from Brokers or the embedded broker
	Features features.Config    // zero value: features.DefaultConfig()
	Ranker   ranker.Config      // zero value: ranker.DefaultConfig()
	Index    ranker.IndexConfig // zero value: ranker.DefaultIndexConfig()
	Audience audience.Config    // zero value: audience.DefaultConfig(); OnFit and Logger are set by Start
	Push     push.Config        // zero value: push defaults; Observer and Logger are set by Start
	State    state.Options      // Dir and CacheBytes are filled from DataDir and CacheBytes

	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		HTTPAddr: "127.0.0.1:8080", DataDir: "./sticky-data", EmbeddedKafka: "127.0.0.1:9092",
		CacheBytes: 256 << 20, ReadyLag: 1000,
		Stream: stream.DefaultConfig(), Features: features.DefaultConfig(),
		Ranker: ranker.DefaultConfig(), Index: ranker.DefaultIndexConfig(), Audience: audience.DefaultConfig(),
	}
}

// Engine is a running Sticky.
type Engine struct {
	cfg     Config
	log     *slog.Logger
	broker  *kfake.Cluster
	brokers []string
	store   *state.Store
	prod    *stream.Producer
	cat     *state.Catalogue
	folder  *features.Folder
	idx     *ranker.Index
	aud     *audience.Table
	push    *push.Service
	rank    *ranker.Ranker
	loader  *stream.CatalogueLoader
	cons    *stream.Consumer
	reg     *prometheus.Registry
	met     *metrics
	httpSrv *http.Server
	httpLn  net.Listener

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
	def := DefaultConfig()
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = def.HTTPAddr
	}
	if cfg.DataDir == "" {
		cfg.DataDir = def.DataDir
	}
	if cfg.EmbeddedKafka == "" {
		cfg.EmbeddedKafka = def.EmbeddedKafka
	}
	if cfg.CacheBytes == 0 {
		cfg.CacheBytes = def.CacheBytes
	}
	if cfg.ReadyLag == 0 {
		cfg.ReadyLag = def.ReadyLag
	}
	if cfg.Features.Weights == nil {
		cfg.Features = def.Features
	}
	if err := cfg.Features.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	e := &Engine{cfg: cfg, log: cfg.Logger, started: time.Now()}
	ok := false
	defer func() {
		if !ok {
			e.Close()
		}
	}()

	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create data directory: %w", err)
	}
	e.brokers = cfg.Brokers
	if len(e.brokers) == 0 {
		addr, err := e.startBroker()
		if err != nil {
			return nil, err
		}
		e.brokers = []string{addr}
		e.log.Info("embedded Kafka-protocol broker listening", "addr", addr, "dir", filepath.Join(cfg.DataDir, "kafka"))
	}
	scfg := cfg.Stream
	scfg.Brokers = e.brokers
	if scfg.Logger == nil {
		scfg.Logger = cfg.Logger
	}
	scfg.EnsureDefaults()
	e.cfg.Stream = scfg

	so := cfg.State
	so.Dir = filepath.Join(cfg.DataDir, "state")
	so.CacheBytes = cfg.CacheBytes
	if so.Logger == nil {
		so.Logger = cfg.Logger
	}
	var err error
	if e.store, err = state.Open(so); err != nil {
		return nil, err
	}

	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = stream.EnsureTopics(tctx, scfg)
	cancel()
	if err != nil {
		return nil, err
	}
	if e.prod, err = stream.NewProducer(scfg); err != nil {
		return nil, err
	}

	if e.cat, err = state.LoadCatalogue(e.store); err != nil {
		return nil, err
	}
	e.folder = features.NewFolder(cfg.Features)
	e.idx = ranker.NewIndex(cfg.Index, e.folder, e.cat)
	t0 := time.Now()
	err = e.store.ScanItemParts(func(_ int32, item string, st *features.ItemStats) error {
		e.idx.Add(item, st)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := e.loadAudience(); err != nil {
		return nil, err
	}
	e.log.Info("state loaded", "catalogue_items", e.cat.Len(), "indexed_items", e.idx.Size().Items,
		"users", e.aud.Len(), "took", time.Since(t0).Round(time.Millisecond))
	e.rank = ranker.New(cfg.Ranker, e.folder, e.store, e.cat, e.idx)
	if err := e.rank.WithAudience(e.aud); err != nil {
		return nil, fmt.Errorf("invalid ranker configuration: %w", err)
	}

	e.reg = prometheus.NewRegistry()
	e.met = newMetrics(e.reg, e)
	pc := cfg.Push
	pc.Observer, pc.Logger = e.met, e.log
	e.push = push.New(pc, e.aud, e.cat, e.store.Push())
	if err := e.push.Load(); err != nil {
		return nil, fmt.Errorf("cannot load push campaigns: %w", err)
	}
	e.loader = stream.NewCatalogueLoader(scfg, e.store, e.cat, e.prod)
	if e.cons, err = stream.NewConsumer(scfg, stream.Deps{
		Store: e.store, Folder: e.folder, Catalogue: e.cat, Sink: sink{e.idx, e.aud}, Observer: e.met, DLQ: e.prod,
	}); err != nil {
		return nil, err
	}

	if e.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", cfg.HTTPAddr, err)
	}
	e.httpSrv = &http.Server{Handler: e.routes(), ReadHeaderTimeout: 10 * time.Second}

	runCtx, runCancel := context.WithCancel(context.Background())
	e.cancel = runCancel
	e.wg.Add(3)
	go func() {
		defer e.wg.Done()
		e.aud.Run(runCtx)
	}()
	go func() {
		defer e.wg.Done()
		if err := e.httpSrv.Serve(e.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.fail(fmt.Errorf("http server: %w", err))
		}
	}()
	go func() {
		defer e.wg.Done()
		e.runStream(runCtx)
	}()
	e.log.Info("sticky is serving", "http", e.Addr(), "brokers", e.brokers, "data", cfg.DataDir)
	ok = true
	return e, nil
}

// sink hands every committed batch to the item index and the audience.
type sink struct {
	idx *ranker.Index
	aud *audience.Table
}

func (s sink) Committed(users []*features.User, d *features.Deltas) {
	s.idx.Apply(d)
	s.aud.Update(users)
}

// metaValueFit is where the last fit of the value models is kept.
const metaValueFit = "value-fit"

// loadAudience builds the population table from every stored user and
// reuses the last persisted fit of the value models.
func (e *Engine) loadAudience() error {
	ac := e.cfg.Audience
	ac.Logger = e.log
	ac.OnFit = func(f audience.Fit) {
		b, err := json.Marshal(f)
		if err == nil {
			err = e.store.PutMeta(metaValueFit, b)
		}
		if err != nil {
			e.log.Warn("cannot persist the value models", "err", err)
		}
	}
	e.aud = audience.New(ac, e.folder)
	batch := make([]*features.User, 0, 1024)
	err := e.store.ScanUsersLenient(func(u *features.User) error {
		if batch = append(batch, u); len(batch) == cap(batch) {
			e.aud.Update(batch)
			batch = batch[:0]
		}
		return nil
	}, func(id string, err error) {
		// The consumer restarts such a user afresh at their next event.
		e.log.Error("stored user vector is corrupt; left out of the audience", "user", id, "err", err)
	})
	if err != nil {
		return err
	}
	e.aud.Update(batch)
	e.aud.Recount(time.Now())
	b, err := e.store.Meta(metaValueFit)
	if err != nil {
		return err
	}
	if b != nil {
		var f audience.Fit
		if err := json.Unmarshal(b, &f); err != nil {
			e.log.Warn("ignoring an unreadable persisted fit", "err", err)
		} else {
			e.aud.SetFit(f)
		}
	}
	return nil
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

func (e *Engine) startBroker() (string, error) {
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
		kfake.DefaultNumPartitions(int(max(e.cfg.Stream.Partitions, 1))),
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
