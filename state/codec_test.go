package state

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/stickyhq/sticky/features"
)

// randomUser folds n random events into a user, so the vector has every
// kind of field the fold produces.
func randomUser(rng *rand.Rand, f *features.Extractor, n int) *features.User {
	u := &features.User{ID: "u"}
	var d features.Deltas
	cats := []string{"Baby", "Books", "Garden", "Toys", "Shoes"}
	devices := []string{"mobile", "desktop", "tablet"}
	zones := []string{"Asia/Shanghai", "Europe/Berlin", "America/New_York", ""}
	types := features.Types()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		item := fmt.Sprintf("sku-%d", rng.IntN(60))
		ev := features.Event{
			ID: fmt.Sprintf("e%d", rng.IntN(1<<20)), UserID: "u", Type: types[rng.IntN(len(types))], ItemID: item,
			CampaignID: "c", Items: []string{item},
			Time:    start.Add(time.Duration(i)*17*time.Minute + time.Duration(rng.IntN(3600))*time.Second),
			Price:   float64(rng.IntN(20000)) / 100,
			Context: features.Context{Device: devices[rng.IntN(3)], Region: "R" + fmt.Sprint(rng.IntN(4)), TZ: zones[rng.IntN(4)]},
		}
		it := &features.Item{ID: item, Category: cats[rng.IntN(len(cats))], Brand: "B" + fmt.Sprint(rng.IntN(7)), Price: 12}
		f.FoldUser(u, &ev, it, &d)
	}
	return u
}

func TestUserCodecRoundTrip(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 5, 50, 500} {
		u := randomUser(rng, f, n)
		b := AppendUser(nil, u)
		got := &features.User{ID: u.ID}
		if err := DecodeUser(b, got); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !reflect.DeepEqual(normalize(u), normalize(got)) {
			t.Fatalf("n=%d: round trip differs:\n got %+v\nwant %+v", n, got, u)
		}
		if n == 500 {
			t.Logf("user vector after %d events: %d bytes", n, len(b))
		}
	}
}

// normalize maps empty slices to nil: the codec does not keep the difference.
func normalize(u *features.User) features.User {
	c := *u
	for _, s := range []*features.Scores{&c.Categories, &c.Brands, &c.CtxCategories, &c.Devices} {
		if len(*s) == 0 {
			*s = nil
		}
	}
	if len(c.Recent) == 0 {
		c.Recent = nil
	}
	if len(c.Purchased) == 0 {
		c.Purchased = nil
	}
	if len(c.Dismissed) == 0 {
		c.Dismissed = nil
	}
	return c
}

func TestItemStatsCodecRoundTrip(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 300} {
		var s features.ItemStats
		for i := 0; i < n; i++ {
			at := int64(1.7e12) + int64(i)*60_000
			s.ApplyPop(features.Pop{Item: "x", Type: features.TypePurchase, At: at, W: 2, Region: fmt.Sprint("R", rng.IntN(5)), Daypart: features.Daypart(rng.IntN(4))}, f)
			s.ApplyPair(fmt.Sprint("n", rng.IntN(40)), 1, at, f)
		}
		b := AppendItemStats(nil, &s)
		var got features.ItemStats
		if err := DecodeItemStats(b, &got); err != nil {
			t.Fatal(err)
		}
		if len(s.Buckets) == 0 {
			s.Buckets = nil
		}
		if len(s.Neighbours) == 0 {
			s.Neighbours = nil
		}
		if !reflect.DeepEqual(s, got) {
			t.Fatalf("n=%d: round trip differs:\n got %+v\nwant %+v", n, got, s)
		}
	}
}

func TestDecodeRejectsCorruptInput(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	b := AppendUser(nil, randomUser(rand.New(rand.NewPCG(5, 6)), f, 40))
	cases := map[string][]byte{
		"empty":     nil,
		"version":   append([]byte{99}, b[1:]...),
		"truncated": b[:len(b)/2],
		"trailing":  append(append([]byte(nil), b...), 0),
	}
	for name, in := range cases {
		var u features.User
		if err := DecodeUser(in, &u); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
	var s features.ItemStats
	if err := DecodeItemStats([]byte{itemV1, 0x80}, &s); !errors.Is(err, ErrCorrupt) {
		t.Errorf("item: got %v, want ErrCorrupt", err)
	}
}

// FuzzDecodeUser: no input makes the decoder panic or allocate without
// bound, and whatever it accepts re-encodes to a fixed point.
func FuzzDecodeUser(f *testing.F) {
	fo := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 1, 3, 30} {
		f.Add(AppendUser(nil, randomUser(rng, fo, n)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var u features.User
		if err := DecodeUser(b, &u); err != nil {
			return
		}
		e1 := AppendUser(nil, &u)
		var u2 features.User
		if err := DecodeUser(e1, &u2); err != nil {
			t.Fatalf("re-decoding an encoding failed: %v", err)
		}
		if e2 := AppendUser(nil, &u2); !bytes.Equal(e1, e2) {
			t.Fatalf("encoding is not a fixed point:\n%x\n%x", e1, e2)
		}
	})
}

// FuzzDecodeItemStats: as FuzzDecodeUser, for item statistics.
func FuzzDecodeItemStats(f *testing.F) {
	fo := features.NewExtractor(features.DefaultConfig())
	var s features.ItemStats
	f.Add(AppendItemStats(nil, &s))
	s.ApplyPop(features.Pop{Item: "x", At: 1.7e12, W: 1, Region: "CN-SH"}, fo)
	s.ApplyPair("y", 2, 1.7e12, fo)
	f.Add(AppendItemStats(nil, &s))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s features.ItemStats
		if err := DecodeItemStats(b, &s); err != nil {
			return
		}
		e1 := AppendItemStats(nil, &s)
		var s2 features.ItemStats
		if err := DecodeItemStats(e1, &s2); err != nil {
			t.Fatalf("re-decoding an encoding failed: %v", err)
		}
		if e2 := AppendItemStats(nil, &s2); !bytes.Equal(e1, e2) {
			t.Fatalf("encoding is not a fixed point:\n%x\n%x", e1, e2)
		}
	})
}

// TestDecodeVersion1 reads a vector written by the version-1 codec
// (testdata/user_v1.bin, from before the value features): every field it
// had survives, the purchase-day statistics are derived, and writing it back
// gives version 2.
func TestDecodeVersion1(t *testing.T) {
	b, err := os.ReadFile("testdata/user_v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != userV1 {
		t.Fatalf("testdata holds version %d", b[0])
	}
	var u features.User
	if err := DecodeUser(b, &u); err != nil {
		t.Fatal(err)
	}
	o := u.Orders
	if u.Events != 60 || o.Count != 3 || o.Monetary != 382.55 || o.First != 1767275287000 || o.Last != 1767286201000 {
		t.Fatalf("version-1 fields: events %d, orders %+v", u.Events, o)
	}
	if o.Days != 1 || len(u.Points) != 0 {
		t.Fatalf("derived purchase days %d (first and last on one day), points %v", o.Days, u.Points)
	}
	v2 := AppendUser(nil, &u)
	if v2[0] != userV3 {
		t.Fatalf("re-encoded as version %d", v2[0])
	}
	var back features.User
	if err := DecodeUser(v2, &back); err != nil || back.Events != 60 {
		t.Fatalf("v2 round trip: %v", err)
	}
}

// TestDecodeVersion2 reads a vector written by the version-2 codec
// (testdata/user_v2.bin, before the push history): the value features
// survive, the push history starts empty.
func TestDecodeVersion2(t *testing.T) {
	b, err := os.ReadFile("testdata/user_v2.bin")
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != userV2 {
		t.Fatalf("testdata holds version %d", b[0])
	}
	var u features.User
	if err := DecodeUser(b, &u); err != nil {
		t.Fatal(err)
	}
	o := u.Orders
	if u.Events != 80 || o.Count != 4 || o.Days != 1 || o.Monetary != 484.11 || len(u.Points) != 3 ||
		!u.Push.OptedOut || u.Push.Sent != 6 || u.Push.Opens != 6 || len(u.Push.Recent) != 0 {
		t.Fatalf("version-2 fields: events %d, orders %+v, points %d, push %+v", u.Events, o, len(u.Points), u.Push)
	}
	if back := AppendUser(nil, &u); back[0] != userV3 {
		t.Fatalf("re-encoded as version %d", back[0])
	}
}

// TestDecodeIntoReusedUserFindsEveryKey: a vector decoded into the slices
// of another (the pooled scorer's, the worker's) leaves no stale key hash
// behind (features.Score.SetKey): every score is found by its key, and
// adding to one adds to it rather than appending a duplicate.
func TestDecodeIntoReusedUserFindsEveryKey(t *testing.T) {
	f := features.NewExtractor(features.DefaultConfig())
	rng := rand.New(rand.NewPCG(3, 3))
	for _, decode := range []func([]byte, *features.User) error{DecodeUser, DecodeUserView} {
		for range 20 {
			// Decode into the slices of a user folded from other events,
			// whose scores carry their own keys' hashes.
			u := *randomUser(rng, f, 1+rng.IntN(300))
			src := randomUser(rng, f, 1+rng.IntN(300))
			if err := decode(AppendUser(nil, src), &u); err != nil {
				t.Fatal(err)
			}
			for _, l := range []struct{ got, want features.Scores }{{u.Categories, src.Categories}, {u.Brands, src.Brands},
				{u.CtxCategories, src.CtxCategories}, {u.Devices, src.Devices}} {
				for _, sc := range l.want {
					if d, ok := l.got.Get(sc.Key); !ok || d.V != sc.V || d.At != sc.At {
						t.Fatalf("%q: %v, %v; want %v", sc.Key, d, ok, sc.Decayed)
					}
				}
				n := len(l.got)
				for _, sc := range l.want {
					l.got.Add(sc.Key, 1, sc.At, 3600_000, 1000)
				}
				if len(l.got) != n {
					t.Fatalf("adding to existing keys made %d scores of %d", len(l.got), n)
				}
			}
		}
	}
}
