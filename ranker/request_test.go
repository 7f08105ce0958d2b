package ranker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stickyhq/sticky/features"
)

func TestRequestValidate(t *testing.T) {
	zones := features.NewZones()
	ok := Request{UserID: "u", K: 10}
	f := func(mod func(r *Request), field, msg string) {
		t.Helper()
		r := ok
		mod(&r)
		err := r.Validate(100, zones)
		if field == "" {
			if err != nil {
				t.Errorf("%+v: %v", r, err)
			}
			return
		}
		var fe *features.FieldError
		if !errors.As(err, &fe) || fe.Field != field || fe.Error() != msg || !errors.Is(err, ErrBadRequest) {
			t.Errorf("%+v: %v, want %s: %s wrapping ErrBadRequest", r, err, field, msg)
		}
	}
	long := strings.Repeat("x", features.MaxIDLen+1)
	longCtx := strings.Repeat("x", features.MaxCtxLen+1)
	f(func(r *Request) {}, "", "")
	f(func(r *Request) { r.K, r.Context.TZ, r.Exclude = 100, "Asia/Tokyo", make([]string, MaxExclude) }, "", "")
	f(func(r *Request) { r.UserID = "" }, "user_id", "user_id is required")
	f(func(r *Request) { r.UserID = long }, "user_id", "user_id is too long")
	f(func(r *Request) { r.K = 0 }, "k", "k must be an integer from 1 to 100")
	f(func(r *Request) { r.K = 101 }, "k", "k must be an integer from 1 to 100")
	f(func(r *Request) { r.Context.ItemID = long }, "item_id", "item_id is too long")
	f(func(r *Request) { r.Context.TZ = "Mars/Base" }, "tz", "tz is not a known IANA time zone")
	f(func(r *Request) { r.Context.TZ = "Local" }, "tz", "tz is not a known IANA time zone")
	f(func(r *Request) { r.Context.Device = longCtx }, "device", "device is too long")
	f(func(r *Request) { r.Context.Region = longCtx }, "region", "region is too long")
	f(func(r *Request) { r.Context.Page = longCtx }, "page", "page is too long")
	f(func(r *Request) { r.Exclude = make([]string, MaxExclude+1) }, "exclude", "exclude holds more than 1000 items")
	f(func(r *Request) { r.UserID, r.K = "", 0 }, "user_id", "user_id is required") // the first bad field
}

// TestRecommendK: K <= 0 asks for DefaultK, K above MaxK is capped.
func TestRecommendK(t *testing.T) {
	w := newWorld(t)
	r := New(Config{DefaultK: 4, MaxK: 6}, w.f, w.users, w.cat, w.idx)
	f := func(k, want int) {
		t.Helper()
		resp, err := r.Recommend(context.Background(), Request{UserID: "new", K: k, Context: Context{Time: base}})
		if err != nil || len(resp.Items) != want {
			t.Errorf("K %d: %d items, %v; want %d", k, len(resp.Items), err, want)
		}
	}
	f(0, 4)
	f(-1, 4)
	f(3, 3)
	f(1000, 6)
}
