package engine

import "net/http"

// GET /v1/segments: users per RFM segment and lifecycle stage, the RFM
// quintiles and the current value models.
func (e *Engine) segments(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, e.aud.Counts())
}
