package engine

import (
	"fmt"
	"net/http"
	"time"
)

// GET /healthz: 200 unless the engine has failed or the consumer reports
// faults.
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
	// AudienceLoaded is false while the audience loads in the background
	// after a start: recommendations, profiles and events are served, but
	// what reads the whole population (segments, campaigns, audience rules
	// on RFM) answers 503. It does not make the engine unready, unless a
	// configured boost reads the population (every recommendation then
	// waits for it).
	AudienceLoaded bool `json:"audience_loaded"`
}

// Readiness reports whether the engine serves fresh state: the catalogue
// has caught up, the consumer holds partitions, and its lag, measured within
// the last few seconds, is at most ReadyLag. The audience may still be
// loading (AudienceLoaded).
func (e *Engine) Readiness() ReadyState {
	st := e.cons.Status()
	rd := ReadyState{Joined: st.Joined, Partitions: st.Partitions, Lag: st.Lag, TotalLag: st.TotalLag,
		LagThreshold: e.cfg.ReadyLag, LagMeasuredAt: st.MeasuredAt, CatalogueItems: e.cat.Len(), AudienceLoaded: e.aud.Loaded()}
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
	if !rd.AudienceLoaded && e.rank.NeedsPopulation() {
		rd.Reasons = append(rd.Reasons, "audience is loading and a configured boost reads it")
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

// GET /readyz: Readiness, 200 when ready and 503 otherwise.
func (e *Engine) readyz(w http.ResponseWriter, _ *http.Request) {
	rd := e.Readiness()
	code := http.StatusOK
	if !rd.Ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, rd)
}
