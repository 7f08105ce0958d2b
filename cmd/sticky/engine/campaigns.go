package engine

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/ranker/campaigns"
)

// pushError answers an error of the push service: 400 naming the field, 404,
// 409, 503 while the audience loads, or 500.
func (e *Engine) pushError(w http.ResponseWriter, err error) {
	var fe *features.FieldError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, apiError{Error: fe.Error(), Field: fe.Field})
	case errors.Is(err, campaigns.ErrNotFound):
		writeError(w, http.StatusNotFound, "id", err.Error())
	case errors.Is(err, campaigns.ErrExists):
		writeError(w, http.StatusConflict, "id", err.Error())
	case errors.Is(err, audience.ErrLoading):
		audienceLoading(w, err)
	default:
		writeError(w, http.StatusInternalServerError, "", err.Error())
	}
}

// POST /v1/campaigns: validate, select the targets, store.
func (e *Engine) createCampaign(w http.ResponseWriter, r *http.Request) {
	var c campaigns.Campaign
	if !decodeBody(w, r, &c) {
		return
	}
	sum, err := e.campaigns.Create(c)
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, sum)
}

// GET /v1/campaigns
func (e *Engine) listCampaigns(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": e.campaigns.List()})
}

// GET /v1/campaigns/{id}
func (e *Engine) getCampaign(w http.ResponseWriter, r *http.Request) {
	sum, err := e.campaigns.Get(r.PathValue("id"))
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

// DELETE /v1/campaigns/{id}
func (e *Engine) deleteCampaign(w http.ResponseWriter, r *http.Request) {
	if err := e.campaigns.Delete(r.PathValue("id")); err != nil {
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
	l, err := e.campaigns.Pull(r.PathValue("id"), limit, until, lease)
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// POST /v1/campaigns/{id}/acks {"lease_id": ..., "acks": [{"user_id": ..., "status": "sent"|"failed"}]}
func (e *Engine) ackTargets(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LeaseID string          `json:"lease_id"`
		Acks    []campaigns.Ack `json:"acks"`
	}
	if !decodeBody(w, r, &body) {
		return
	}
	if len(body.Acks) == 0 {
		writeError(w, http.StatusBadRequest, "acks", "acks is required: a list of {user_id, status}")
		return
	}
	res, err := e.campaigns.Acknowledge(r.PathValue("id"), body.LeaseID, body.Acks)
	if err != nil {
		e.pushError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
