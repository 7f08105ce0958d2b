package engine

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/ranker/audience"
)

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
	if err := req.Validate(cfg.MaxK, e.extractor.Zones()); err != nil {
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
		if errors.Is(err, audience.ErrLoading) {
			audienceLoading(w, err)
			return
		}
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	bp := respBufs.Get().(*[]byte)
	b := append(resp.AppendJSON((*bp)[:0]), '\n')
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= 64<<10 {
		*bp = b[:0]
		respBufs.Put(bp)
	}
}

// respBufs are the buffers recommendations are encoded into.
var respBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}
