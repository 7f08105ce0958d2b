package servertiming

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestWriter: a handler's answer carries how long it took until it began,
// read back by Parse, whether it sets a status or only writes; the status
// is remembered.
func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func(w http.ResponseWriter)
		code int
	}{
		{"write only", func(w http.ResponseWriter) { w.Write([]byte("{}")) }, http.StatusOK},
		{"status", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound); w.Write([]byte("{}")) }, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sw := NewWriter(w, time.Now().Add(-25*time.Millisecond))
				tc.h(sw)
				if sw.Code != tc.code {
					t.Errorf("code %d, want %d", sw.Code, tc.code)
				}
			}))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			d, ok := Parse(resp.Header.Get(Header))
			if !ok || d < 25*time.Millisecond || d > 10*time.Second || resp.StatusCode != tc.code {
				t.Fatalf("%s %q: %v %v, status %d", Header, resp.Header.Get(Header), d, ok, resp.StatusCode)
			}
		})
	}
}

func TestParse(t *testing.T) {
	for v, want := range map[string]time.Duration{
		"app;dur=1.5":                     1500 * time.Microsecond,
		`db;dur=3, app;desc="x";dur=0.25`: 250 * time.Microsecond,
	} {
		if d, ok := Parse(v); !ok || d != want {
			t.Errorf("Parse(%q) = %v %v, want %v", v, d, ok, want)
		}
	}
	for _, v := range []string{"", "db;dur=3", "app", "app;dur=x", "app;dur=-1"} {
		if d, ok := Parse(v); ok {
			t.Errorf("Parse(%q) = %v, want none", v, d)
		}
	}
}
