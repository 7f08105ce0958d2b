package engine

import (
	"net/http"

	"github.com/stickyhq/sticky/ranker/audience"
)

// GET /v1/segments: users per RFM segment and lifecycle stage, the RFM
// quintiles and the current value models; 503 while the audience loads.
func (e *Engine) segments(w http.ResponseWriter, _ *http.Request) {
	if !e.aud.Loaded() {
		audienceLoading(w, audience.ErrLoading)
		return
	}
	writeJSON(w, http.StatusOK, e.aud.Counts())
}
