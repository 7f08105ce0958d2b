package engine

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/stream"
)

// MaxEventsBody bounds a POST /v1/events body.
const MaxEventsBody = 4 << 20

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
		ev, err := stream.DecodeEvent(raw, e.extractor.Zones())
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
