package engine

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/ranker"
	"github.com/stickyhq/sticky/state"
)

type noUsers struct{}

func (noUsers) User(id string, u *features.User) (bool, error) {
	*u = features.User{ID: id}
	return false, nil
}

// TestRecommendationsBadRequests pins the exact 400 bodies of
// GET /v1/recommendations, one bad parameter at a time.
func TestRecommendationsBadRequests(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	cat := state.NewCatalogue()
	idx := ranker.NewIndex(ranker.DefaultIndexConfig(), f, cat)
	e := &Engine{extractor: f, rank: ranker.New(ranker.DefaultConfig(), f, noUsers{}, cat, idx)}
	long := strings.Repeat("x", features.MaxIDLen+1)
	longCtx := strings.Repeat("x", features.MaxCtxLen+1)
	many := strings.Repeat("i,", 1000) + "i"
	check := func(query, want string) {
		t.Helper()
		rec := httptest.NewRecorder()
		e.recommendations(rec, httptest.NewRequest("GET", "/v1/recommendations?"+query, nil))
		if got := rec.Body.String(); rec.Code != 400 || got != want+"\n" {
			t.Errorf("?%s: %d %s, want 400 %s", query, rec.Code, got, want)
		}
	}
	check("k=3", `{"error":"user_id is required","field":"user_id"}`)
	check("user_id="+long, `{"error":"user_id is too long","field":"user_id"}`)
	check("user_id=u&k=0", `{"error":"k must be an integer from 1 to 100","field":"k"}`)
	check("user_id=u&k=-3", `{"error":"k must be an integer from 1 to 100","field":"k"}`)
	check("user_id=u&k=101", `{"error":"k must be an integer from 1 to 100","field":"k"}`)
	check("user_id=u&k=many", `{"error":"k must be an integer from 1 to 100","field":"k"}`)
	check("user_id=u&k=99999999999999999999", `{"error":"k must be an integer from 1 to 100","field":"k"}`)
	check("user_id=u&at=noon", `{"error":"at must be an RFC 3339 time or Unix seconds or milliseconds","field":"at"}`)
	check("user_id=u&item_id="+long, `{"error":"item_id is too long","field":"item_id"}`)
	check("user_id=u&tz="+url.QueryEscape("Mars/Base"), `{"error":"tz is not a known IANA time zone","field":"tz"}`)
	check("user_id=u&tz=Local", `{"error":"tz is not a known IANA time zone","field":"tz"}`)
	check("user_id=u&device="+longCtx, `{"error":"device is too long","field":"device"}`)
	check("user_id=u&region="+longCtx, `{"error":"region is too long","field":"region"}`)
	check("user_id=u&page="+longCtx, `{"error":"page is too long","field":"page"}`)
	check("user_id=u&audience=orders", `{"error":"rule \"orders\": unknown field \"orders\"","field":"audience"}`)
	check("user_id=u&exclude="+many, `{"error":"exclude holds more than 1000 items","field":"exclude"}`)
	check("user_id=u&audience="+url.QueryEscape("frequency > 1"),
		`{"error":"audience rules need the population, which this ranker lacks: bad request"}`)
}
