// Package servertiming puts a Server-Timing header (W3C Server Timing) on
// HTTP answers: how long the handler took until it began its answer, as
// "app;dur=<milliseconds>". A client that measures its own latency (the
// bench harness) reads it back with Parse to split that latency into the
// server's part and the rest: waiting for a core or a connection on either
// side, the network, its own scheduling.
//
//	w := servertiming.NewWriter(w, time.Now())
//	h(w, r)
//	code := w.Code
package servertiming

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header is the header's name.
const Header = "Server-Timing"

// Writer is an http.ResponseWriter that sets the header, from the start
// given to NewWriter, when the answer begins (WriteHeader, or the first
// Write), and remembers the status code.
type Writer struct {
	http.ResponseWriter
	start time.Time
	// Code is the status code written; http.StatusOK until one is.
	Code  int
	began bool
}

// NewWriter wraps w for a request whose handling started at start.
func NewWriter(w http.ResponseWriter, start time.Time) *Writer {
	return &Writer{ResponseWriter: w, start: start, Code: http.StatusOK}
}

// WriteHeader sets the header, then writes the status code.
func (w *Writer) WriteHeader(code int) {
	if !w.began {
		w.began, w.Code = true, code
		w.Header().Set(Header, Value(time.Since(w.start)))
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write begins the answer (status 200) if it has not begun.
func (w *Writer) Write(b []byte) (int, error) {
	if !w.began {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Value is the header's value for a duration: "app;dur=1.234" (ms).
func Value(d time.Duration) string {
	return "app;dur=" + strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// Parse reads the "app" metric's duration from a header value; ok is
// false if there is none.
func Parse(v string) (d time.Duration, ok bool) {
	for m := range strings.SplitSeq(v, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(m), ";")
		if name != "app" {
			continue
		}
		for p := range strings.SplitSeq(params, ";") {
			k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k != "dur" {
				continue
			}
			ms, err := strconv.ParseFloat(val, 64)
			if err != nil || ms < 0 {
				return 0, false
			}
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	return 0, false
}
