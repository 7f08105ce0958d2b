package engine

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker/audience"
)

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
	writeJSON(w, http.StatusOK, profileView{Profile: newProfile(&u, now, e.extractor.HalfLives()), Value: e.aud.ViewHorizon(&u, now, within, horizon)})
}

// profileView is the body of GET /v1/users/{id}/profile.
type profileView struct {
	Profile
	Value audience.View `json:"value"`
}
