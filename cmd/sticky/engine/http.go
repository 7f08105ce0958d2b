package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/priority"
)

// routes maps every endpoint to its handler. The handlers live in one file
// per resource: recommendations.go, users.go, events.go, items.go,
// segments.go, campaigns.go and health.go; this file holds what they share.
func (e *Engine) routes() http.Handler {
	mux := http.NewServeMux()
	// API requests beyond the bound are shed; health checks and metrics
	// are not, so that an overloaded engine is seen as busy, not dead.
	handle := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, e.met.instrument(pattern, e.limit.wrap(pattern, h)))
	}
	unlimited := func(pattern string, h http.HandlerFunc) {
		mux.Handle(pattern, e.met.instrument(pattern, h))
	}
	handle("GET /v1/recommendations", e.recommendations)
	handle("GET /v1/users/{id}/profile", e.profile)
	handle("POST /v1/events", e.events)
	handle("GET /v1/items/{id}", e.item)
	handle("GET /v1/segments", e.segments)
	handle("POST /v1/campaigns", e.createCampaign)
	handle("GET /v1/campaigns", e.listCampaigns)
	handle("GET /v1/campaigns/{id}", e.getCampaign)
	handle("DELETE /v1/campaigns/{id}", e.deleteCampaign)
	handle("GET /v1/campaigns/{id}/targets", e.pullTargets)
	handle("POST /v1/campaigns/{id}/acks", e.ackTargets)
	unlimited("GET /healthz", e.healthz)
	unlimited("GET /readyz", e.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowed(mux, r); len(allow) > 0 {
			list := strings.Join(allow, ", ")
			w.Header().Set("Allow", list)
			writeError(w, http.StatusMethodNotAllowed, "method", r.Method+" is not served at "+r.URL.Path+"; allowed: "+list)
			return
		}
		writeError(w, http.StatusNotFound, "path", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

// allowed lists the methods mux serves r's path with (HEAD wherever GET
// is), in alphabetical order; none when no route has the path. The
// catch-all "/" does not count.
func allowed(mux *http.ServeMux, r *http.Request) []string {
	var out []string
	for _, m := range [...]string{http.MethodDelete, http.MethodGet, http.MethodHead, http.MethodPatch, http.MethodPost, http.MethodPut} {
		probe := &http.Request{Method: m, URL: r.URL, Host: r.Host, Header: r.Header}
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/" {
			out = append(out, m)
		}
	}
	return out
}

// limiter bounds the API requests served at once. A request beyond the
// bound is answered at once with 503 and Retry-After instead of queueing
// behind the others: under overload, latency stays that of the requests
// admitted and clients learn to back off.
type limiter struct {
	sem  chan struct{}
	shed func(route string) // counts a shed request
	// gate counts the reads admitted, so that ingest waits for them
	// (stream.Deps.Priority).
	gate priority.Gate
}

// retryAfter is the Retry-After of a shed request, in seconds.
const retryAfter = "1"

func newLimiter(maxInFlight int, shed func(route string)) *limiter {
	return &limiter{sem: make(chan struct{}, maxInFlight), shed: shed}
}

// wrap returns h behind the bound.
func (l *limiter) wrap(route string, h http.HandlerFunc) http.HandlerFunc {
	// Reads are what a caller waits on while ingest can wait; writes
	// (events, campaigns, acks) are not counted, or a client posting
	// events steadily would hold back their own ingest.
	read := strings.HasPrefix(route, "GET ")
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case l.sem <- struct{}{}:
		default:
			l.shed(route)
			w.Header().Set("Retry-After", retryAfter)
			writeError(w, http.StatusServiceUnavailable, "", "overloaded: too many requests in flight, retry after "+retryAfter+"s")
			return
		}
		if read {
			l.gate.Enter()
			defer l.gate.Leave()
		}
		defer func() { <-l.sem }()
		h(w, r)
	}
}

// audienceLoading answers 503 with Retry-After to a request that needs the
// whole audience while it is still loading after a start.
func audienceLoading(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", retryAfter)
	writeError(w, http.StatusServiceUnavailable, "", err.Error()+"; retry after "+retryAfter+"s")
}

// inFlight returns the requests being served.
func (l *limiter) inFlight() int { return len(l.sem) }

// apiError is the body of every 4xx and 5xx answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
	Index *int   `json:"index,omitempty"` // position in a POSTed array
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

func fieldError(w http.ResponseWriter, err error, index *int) {
	var fe *features.FieldError
	if errors.As(err, &fe) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: fe.Error(), Field: fe.Field, Index: index})
		return
	}
	writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error(), Index: index})
}

// parseTime accepts RFC 3339 or Unix seconds or milliseconds, in the years
// 1970 to 9999.
func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		n, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return time.Time{}, errors.New("must be an RFC 3339 time or Unix seconds or milliseconds")
		}
		if n > 1e11 || n < -1e11 {
			t = time.UnixMilli(n)
		} else {
			t = time.Unix(n, 0)
		}
	}
	if y := t.Year(); y < 1970 || y > 9999 {
		return time.Time{}, errors.New("must be between 1970 and 9999")
	}
	return t, nil
}

// decodeBody decodes a JSON body into v, refusing unknown fields; errors
// name the field.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		field, msg := "body", err.Error()
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			field, msg = te.Field, te.Field+" must be a JSON "+te.Type.String()
		} else if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field, msg = strings.Trim(f, `"`), "unknown field "+f
		}
		writeError(w, http.StatusBadRequest, field, msg)
		return false
	}
	return true
}
