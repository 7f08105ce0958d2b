package engine

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/num"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/ranker/push"
	"github.com/stickyhq/sticky/stream"
)

// MaxEventsBody bounds a POST /v1/events body.
const MaxEventsBody = 4 << 20

func (e *Engine) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, h http.HandlerFunc) {
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
	handle("GET /healthz", e.healthz)
	handle("GET /readyz", e.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.reg, promhttp.HandlerOpts{Registry: e.reg}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "path", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

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

// GET /v1/recommendations?user_id=&k=&device=&region=&tz=&page=&item_id=&at=&audience=&exclude=
//
// Request.Validate checks the parameters a Request holds as given; at and
// audience are parsed once those are valid.
func (e *Engine) recommendations(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	cfg := e.rank.Config()
	req := ranker.Request{UserID: q.Get("user_id"), K: cfg.DefaultK, Context: ranker.Context{
		Device: q.Get("device"), Region: q.Get("region"), TZ: q.Get("tz"), Page: q.Get("page"), ItemID: q.Get("item_id")}}
	if s := q.Get("k"); s != "" {
		k, err := strconv.Atoi(s)
		if err != nil {
			k = 0 // not an integer: Validate rejects it like any k out of range
		}
		req.K = k
	}
	if s := q.Get("exclude"); s != "" {
		req.Exclude = strings.Split(s, ",")
	}
	if err := req.Validate(cfg.MaxK, e.folder.Zones()); err != nil {
		fieldError(w, err, nil)
		return
	}
	if s := q.Get("at"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "at", "at "+err.Error())
			return
		}
		req.Context.Time = t
	}
	if s := q.Get("audience"); s != "" {
		rule, err := audience.ParseRule(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "audience", err.Error())
			return
		}
		req.Audience = rule
	}
	resp, err := e.rank.Recommend(r.Context(), req)
	if err != nil {
		if errors.Is(err, ranker.ErrBadRequest) {
			fieldError(w, err, nil)
			return
		}
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// GET /v1/users/{id}/profile
func (e *Engine) profile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var u features.User
	found, err := e.store.User(id, &u)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	if !found {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("user %q has no events yet", id))
		return
	}
	now := time.Now()
	if s := r.URL.Query().Get("at"); s != "" {
		if now, err = parseTime(s); err != nil {
			writeError(w, http.StatusBadRequest, "at", "at "+err.Error())
			return
		}
	}
	var within time.Duration
	if s := r.URL.Query().Get("expiring_within_days"); s != "" {
		d, err := strconv.Atoi(s)
		if err != nil || d < 1 || d > 3650 {
			writeError(w, http.StatusBadRequest, "expiring_within_days", "expiring_within_days must be an integer from 1 to 3650")
			return
		}
		within = time.Duration(d) * 24 * time.Hour
	}
	horizon := 0
	if s := r.URL.Query().Get("horizon_days"); s != "" {
		if horizon, err = strconv.Atoi(s); err != nil || horizon < 1 || horizon > 3650 {
			writeError(w, http.StatusBadRequest, "horizon_days", "horizon_days must be an integer from 1 to 3650")
			return
		}
	}
	writeJSON(w, http.StatusOK, profileView{Profile: newProfile(&u, now, e.folder.HalfLives()), Value: e.aud.ViewHorizon(&u, now, within, horizon)})
}

// profileView is the body of GET /v1/users/{id}/profile.
type profileView struct {
	Profile
	Value audience.View `json:"value"`
}

// GET /v1/segments: users per RFM segment and lifecycle stage, the RFM
// quintiles and the current value models.
func (e *Engine) segments(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, e.aud.Counts())
}

// POST /v1/events: one event or an array; all are validated before any is
// produced; 202 once Kafka has acknowledged them all.
func (e *Engine) events(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxEventsBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "body", fmt.Sprintf("body is larger than %d bytes", MaxEventsBody))
			return
		}
		writeError(w, http.StatusBadRequest, "body", "cannot read body: "+err.Error())
		return
	}
	raws, err := stream.DecodeEvents(body)
	if err != nil {
		fieldError(w, err, nil)
		return
	}
	if len(raws) == 0 {
		writeError(w, http.StatusBadRequest, "body", "the array holds no events")
		return
	}
	recs := make([]*kgo.Record, len(raws))
	now := time.Now()
	for i, raw := range raws {
		ev, err := stream.DecodeEvent(raw, e.folder.Zones())
		if err == nil {
			err = stream.CheckFuture(ev.Time, now, e.cfg.Stream.MaxFutureSkew)
		}
		if err != nil {
			var idx *int
			if len(raws) > 1 || body[0] == '[' {
				idx = &i
			}
			fieldError(w, err, idx)
			return
		}
		recs[i] = e.prod.EventRecord(ev.UserID, raw)
	}
	if err := e.prod.Produce(r.Context(), recs...); err != nil {
		writeError(w, http.StatusServiceUnavailable, "", err.Error())
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"accepted": len(recs)})
}

// itemView is the body of GET /v1/items/{id}.
type itemView struct {
	ItemID     string         `json:"item_id"`
	Catalogue  *features.Item `json:"catalogue,omitempty"`
	Popularity float64        `json:"popularity"`
	Trend      float64        `json:"trend"`
	Actions    uint32         `json:"actions"`
	Purchases  uint32         `json:"purchases"`
	Buckets    []features.KV  `json:"context_buckets"`
	Neighbours []features.KV  `json:"neighbours"`
	AsOf       time.Time      `json:"as_of"`
}

// GET /v1/items/{id}
func (e *Engine) item(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	it := e.cat.Get(id)
	st, ok := e.idx.Stats(id)
	if it == nil && !ok {
		writeError(w, http.StatusNotFound, "id", fmt.Sprintf("item %q is neither in the catalogue nor in any event", id))
		return
	}
	now := time.Now()
	v := itemView{ItemID: id, Catalogue: it, AsOf: now.UTC(), Buckets: []features.KV{}, Neighbours: []features.KV{}}
	if ok {
		n := now.UnixMilli()
		v.Popularity = num.Round4(st.Popularity(n, e.folder))
		v.Trend = num.Round4(st.Trend(n, e.folder))
		v.Actions, v.Purchases = st.Actions, st.Purchases
		v.Buckets = st.TopBuckets(n, 10, e.folder)
		v.Neighbours = st.NeighbourWeights(n, 10, e.folder)
	}
	writeJSON(w, http.StatusOK, v)
}

func (e *Engine) healthz(w http.ResponseWriter, _ *http.Request) {
	if err := e.Err(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "failed", "error": err.Error()})
		return
	}
	if faults := e.cons.Status().Faults; len(faults) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "faulty", "faults": faults})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// ReadyState is the body of /readyz.
type ReadyState struct {
	Ready            bool            `json:"ready"`
	Reasons          []string        `json:"reasons,omitempty"`
	CatalogueReady   bool            `json:"catalogue_caught_up"`
	CatalogueItems   int             `json:"catalogue_items"`
	Joined           bool            `json:"joined_group"`
	Partitions       []int32         `json:"partitions"`
	Lag              map[int32]int64 `json:"lag"`
	TotalLag         int64           `json:"total_lag"`
	LagThreshold     int64           `json:"lag_threshold"`
	LagMeasuredAt    time.Time       `json:"lag_measured_at"`
	LagMeasuredSince string          `json:"lag_measured_ago,omitempty"`
}

// Readiness reports whether the engine serves fresh state: the catalogue
// has caught up, the consumer holds partitions, and its lag, measured within
// the last few seconds, is at most ReadyLag.
func (e *Engine) Readiness() ReadyState {
	st := e.cons.Status()
	rd := ReadyState{Joined: st.Joined, Partitions: st.Partitions, Lag: st.Lag, TotalLag: st.TotalLag,
		LagThreshold: e.cfg.ReadyLag, LagMeasuredAt: st.MeasuredAt, CatalogueItems: e.cat.Len()}
	if rd.Partitions == nil {
		rd.Partitions = []int32{}
	}
	select {
	case <-e.loader.CaughtUp():
		rd.CatalogueReady = true
	default:
		rd.Reasons = append(rd.Reasons, "catalogue is still loading")
	}
	if !st.Joined {
		rd.Reasons = append(rd.Reasons, "no partitions assigned yet")
	}
	fresh := 5 * e.cfg.Stream.LagInterval
	switch {
	case st.MeasuredAt.IsZero():
		rd.Reasons = append(rd.Reasons, "lag not measured yet")
	case time.Since(st.MeasuredAt) > fresh:
		rd.Reasons = append(rd.Reasons, "lag measurement is stale (broker unreachable?)")
	default:
		rd.LagMeasuredSince = time.Since(st.MeasuredAt).Round(time.Millisecond).String()
	}
	if st.TotalLag > e.cfg.ReadyLag {
		rd.Reasons = append(rd.Reasons, fmt.Sprintf("lag %d exceeds %d", st.TotalLag, e.cfg.ReadyLag))
	}
	if err := e.Err(); err != nil {
		rd.Reasons = append(rd.Reasons, err.Error())
	}
	rd.Reasons = append(rd.Reasons, st.Faults...)
	rd.Reasons = append(rd.Reasons, st.Stalled...)
	rd.Ready = len(rd.Reasons) == 0
	return rd
}

func (e *Engine) readyz(w http.ResponseWriter, _ *http.Request) {
	rd := e.Readiness()
	code := http.StatusOK
	if !rd.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rd)
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

func (e *Engine) pushError(w http.ResponseWriter, err error) {
	var fe *features.FieldError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, apiError{Error: fe.Error(), Field: fe.Field})
	case errors.Is(err, push.ErrNotFound):
		writeError(w, http.StatusNotFound, "id", err.Error())
	case errors.Is(err, push.ErrExists):
		writeError(w, http.StatusConflict, "id", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "", err.Error())
	}
}

// POST /v1/campaigns: validate, select the targets, store.
func (e *Engine) createCampaign(w http.ResponseWriter, r *http.Request) {
	var c push.Campaign
	if !decodeBody(w, r, &c) {
		return
	}
	sum, err := e.push.Create(c)
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, sum)
}

func (e *Engine) listCampaigns(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": e.push.List()})
}

func (e *Engine) getCampaign(w http.ResponseWriter, r *http.Request) {
	sum, err := e.push.Get(r.PathValue("id"))
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

func (e *Engine) deleteCampaign(w http.ResponseWriter, r *http.Request) {
	if err := e.push.Delete(r.PathValue("id")); err != nil {
		e.pushError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GET /v1/campaigns/{id}/targets?limit=&until=&lease_seconds=
func (e *Engine) pullTargets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			writeError(w, http.StatusBadRequest, "limit", "limit must be an integer from 1 to 10000")
			return
		}
		limit = n
	}
	var until time.Time
	if s := q.Get("until"); s != "" {
		t, err := parseTime(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "until", "until "+err.Error())
			return
		}
		until = t
	}
	var lease time.Duration
	if s := q.Get("lease_seconds"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 24*3600 {
			writeError(w, http.StatusBadRequest, "lease_seconds", "lease_seconds must be an integer from 1 to 86400")
			return
		}
		lease = time.Duration(n) * time.Second
	}
	l, err := e.push.Pull(r.PathValue("id"), limit, until, lease)
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// POST /v1/campaigns/{id}/acks {"lease_id": ..., "acks": [{"user_id": ..., "status": "sent"|"failed"}]}
func (e *Engine) ackTargets(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LeaseID string     `json:"lease_id"`
		Acks    []push.Ack `json:"acks"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if len(body.Acks) == 0 {
		writeError(w, http.StatusBadRequest, "acks", "acks is required: a list of {user_id, status}")
		return
	}
	res, err := e.push.Acknowledge(r.PathValue("id"), body.LeaseID, body.Acks)
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
