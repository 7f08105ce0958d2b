package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/stickyhq/sticky/internal/servertiming"
)

// readTimeout bounds the Redis reads of one request; past it the answer is
// a 503.
const readTimeout = time.Second

// service answers the HTTP API from Redis.
type service struct {
	o     *Options
	rdb   *redis.Client
	cat   Catalogue
	m     *metrics
	log   *slog.Logger
	ready *atomic.Bool // the catalogue's initial load is done
}

func (s *service) handler() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern, route string, h http.HandlerFunc) {
		mux.Handle(pattern, s.instrument(route, h))
	}
	handle("GET /v1/recommendations", "/v1/recommendations", s.recommendations)
	handle("GET /v1/users/{id}/profile", "/v1/users/{id}/profile", s.profile)
	handle("GET /healthz", "/healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{Registry: s.m.reg}))
	handle("/", "other", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "path", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// instrument records the latency of h by route and status code, and puts
// it on the answer as a Server-Timing header, as sticky serve does.
func (s *service) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := servertiming.NewWriter(w, start)
		h(rec, r)
		s.m.httpDur.WithLabelValues(route, strconv.Itoa(rec.Code)).Observe(time.Since(start).Seconds())
	})
}

type recommendations struct {
	UserID string   `json:"user_id"`
	Items  []Ranked `json:"items"`
}

func (s *service) recommendations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	user := q.Get("user_id")
	if user == "" {
		writeError(w, http.StatusBadRequest, "user_id", "user_id is required")
		return
	}
	k := 10
	if v := q.Get("k"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > s.o.MaxK {
			writeError(w, http.StatusBadRequest, "k", fmt.Sprintf("k must be an integer from 1 to %d", s.o.MaxK))
			return
		}
		k = n
	}
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	in, err := readInputs(ctx, s.rdb, user)
	if err != nil {
		s.log.Warn("cannot read redis", "err", err)
		writeError(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, recommendations{UserID: user, Items: Rank(in, s.cat, k, s.o.MaxPerCategory)})
}

// Profile is the answer of GET /v1/users/{id}/profile.
type Profile struct {
	UserID        string        `json:"user_id"`
	Events        int64         `json:"events"`
	LastTS        string        `json:"last_ts"`
	Device        string        `json:"device,omitempty"`
	Region        string        `json:"region,omitempty"`
	TopCategories []CategoryAff `json:"top_categories"`
}

// CategoryAff is a category with the user's affinity to it (the sum of the
// weights of the user's events on its items).
type CategoryAff struct {
	Category string  `json:"category"`
	Affinity float64 `json:"affinity"`
}

// profileCategories is how many categories a profile lists.
const profileCategories = 5

func (s *service) profile(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("id")
	ctx, cancel := context.WithTimeout(r.Context(), readTimeout)
	defer cancel()
	p := s.rdb.Pipeline()
	h := p.HGetAll(ctx, userKey(user))
	c := p.HGetAll(ctx, catKey(user))
	if _, err := p.Exec(ctx); err != nil {
		s.log.Warn("cannot read redis", "err", err)
		writeError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("cannot read user %q: %v", user, err))
		return
	}
	if len(h.Val()) == 0 {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("user %q has no events yet", user))
		return
	}
	cats, err := floats(c.Val())
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("cannot read %s: %v", catKey(user), err))
		return
	}
	hv := h.Val()
	events, _ := strconv.ParseInt(hv["events"], 10, 64)
	out := Profile{UserID: user, Events: events, LastTS: hv["last_ts"], Device: hv["device"], Region: hv["region"],
		TopCategories: []CategoryAff{}}
	for _, name := range topKeys(cats, profileCategories) {
		out.TopCategories = append(out.TopCategories, CategoryAff{Category: name, Affinity: cats[name]})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *service) healthz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeError(w, http.StatusServiceUnavailable, "", "catalogue is loading")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// apiError is the body of every 4xx and 5xx answer, as Sticky writes it.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// writeJSON encodes v first, so that a value that cannot be encoded turns
// into a 500 instead of a 200 with an empty body.
func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		enc.Encode(apiError{Error: "cannot encode the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, code int, field, msg string) {
	writeJSON(w, code, apiError{Error: msg, Field: field})
}
