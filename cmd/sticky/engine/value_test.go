package engine

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/features/clv"
	"github.com/stickyhq/sticky/ranker/audience"
	"github.com/stickyhq/sticky/stream/streamtest"
)

type cdnowTx struct {
	customer string
	day      time.Time
	value    float64
}

func readCDNOW(t *testing.T) []cdnowTx {
	t.Helper()
	f, err := os.Open(filepath.Join(streamtest.DataDir(t), "cdnow", "CDNOW_master.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var txs []cdnowTx
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) != 4 {
			continue
		}
		day, err := time.Parse("20060102", fs[1])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(fs[3], 64)
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, cdnowTx{customer: "cd" + fs[0], day: day, value: v})
	}
	return txs
}

// TestCDNOWReplay replays CDNOW_master.txt as purchase events through
// Kafka and checks that every customer's (frequency, recency, T) and mean
// repeat spend equal an offline computation of the same file, and that the
// models fitted on the engine's population equal those fitted offline.
func TestCDNOWReplay(t *testing.T) {
	txs := readCDNOW(t)
	if len(txs) != 69659 {
		t.Fatalf("%d transactions, want 69,659", len(txs))
	}
	cfg := testConfig(t, t.TempDir(), streamtest.Unique("cdnow"))
	e := start(t, cfg)
	topics := e.StreamConfig()

	// Offline: per customer, the spend of each purchase day.
	type agg struct {
		days  map[time.Time]float64
		first time.Time
		last  time.Time
	}
	off := map[string]*agg{}
	recs := make([]*kgo.Record, len(txs))
	for i, tx := range txs {
		a := off[tx.customer]
		if a == nil {
			a = &agg{days: map[time.Time]float64{}, first: tx.day, last: tx.day}
			off[tx.customer] = a
		}
		a.days[tx.day] += tx.value
		if tx.day.Before(a.first) {
			a.first = tx.day
		}
		if tx.day.After(a.last) {
			a.last = tx.day
		}
		v := fmt.Sprintf(`{"event_id":"cdnow-%d","user_id":%q,"type":"purchase","item_id":"cd","price":%g,"ts":%q}`,
			i, tx.customer, tx.value, tx.day.Add(12*time.Hour).Format(time.RFC3339))
		recs[i] = &kgo.Record{Topic: topics.EventsTopic, Key: []byte(tx.customer), Value: []byte(v)}
	}
	if len(off) != 23570 {
		t.Fatalf("%d customers, want 23,570", len(off))
	}
	for i := 0; i < len(recs); i += 10000 {
		produce(t, e, recs[i:min(i+10000, len(recs))]...)
	}
	streamtest.WaitFor(t, 3*time.Minute, func() error {
		if c := e.aud.Counts(); c.Customers != int64(len(off)) {
			return fmt.Errorf("%d customers so far", c.Customers)
		}
		if rd := e.Readiness(); rd.TotalLag != 0 || !rd.LagMeasuredAt.After(time.Now().Add(-time.Second)) {
			return fmt.Errorf("lag %d", rd.TotalLag)
		}
		return nil
	})

	end := time.Date(1998, 6, 30, 12, 0, 0, 0, time.UTC) // the end of observation
	var offline []clv.Customer
	for id, a := range off {
		x := float64(len(a.days) - 1)
		want := clv.Customer{X: x, Tx: a.last.Sub(a.first).Hours() / 24, T: end.Truncate(24*time.Hour).Sub(a.first).Hours() / 24}
		if x > 0 {
			var repeat float64
			for d, v := range a.days {
				if !d.Equal(a.first) {
					repeat += v
				}
			}
			want.M = repeat / x
		}
		offline = append(offline, want)
		var u features.User
		if ok, err := e.store.User(id, &u); !ok || err != nil {
			t.Fatalf("customer %s not in the state: %v", id, err)
		}
		got := e.extractor.Value(&u, end, 0)
		if got.X != want.X || got.TxDays != want.Tx || got.TDays != want.T || math.Abs(got.MeanRepeatSpend-want.M) > 1e-6 {
			t.Fatalf("customer %s: engine (x=%v, t_x=%v, T=%v, m=%v), offline (x=%v, t_x=%v, T=%v, m=%v)",
				id, got.X, got.TxDays, got.TDays, got.MeanRepeatSpend, want.X, want.Tx, want.T, want.M)
		}
	}
	t.Logf("%d customers: (frequency, recency, T) and mean repeat spend equal the offline computation", len(off))

	fit, err := e.aud.Refit(end)
	if err != nil {
		t.Fatal(err)
	}
	bg, _, err := clv.FitBGNBD(offline)
	if err != nil {
		t.Fatal(err)
	}
	gg, _, err := clv.FitGammaGamma(offline)
	if err != nil {
		t.Fatal(err)
	}
	// Spend sums in another order differ in the last bits: compare to 1e-6.
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Abs(b) }
	if !near(fit.BGNBD.R, bg.R) || !near(fit.BGNBD.Alpha, bg.Alpha) || !near(fit.BGNBD.A, bg.A) || !near(fit.BGNBD.B, bg.B) ||
		!near(fit.Gamma.P, gg.P) || !near(fit.Gamma.Q, gg.Q) || !near(fit.Gamma.Gamma, gg.Gamma) {
		t.Fatalf("engine fit %+v %+v, offline %+v %+v", fit.BGNBD, fit.Gamma, bg, gg)
	}
	t.Logf("full CDNOW, days: BG/NBD r=%.4f α=%.3f a=%.4f b=%.4f; Gamma-Gamma p=%.3f q=%.3f γ=%.3f; fitted in %s",
		bg.R, bg.Alpha, bg.A, bg.B, gg.P, gg.Q, gg.Gamma, fit.Took)

	// Through the API.
	var prof struct {
		Value audience.View `json:"value"`
	}
	if code := call(t, e, "GET", "/v1/users/cd00002/profile?at=1998-06-30T12:00:00Z&horizon_days=365", "", &prof); code != 200 {
		t.Fatalf("profile: %d", code)
	}
	v := prof.Value
	if v.Horizon == nil || v.Horizon.Days != 365 || v.Horizon.Purchases <= *v.ExpectedPurchases90d {
		t.Fatalf("a year's expected purchases %+v, 90 days' %v", v.Horizon, *v.ExpectedPurchases90d)
	}
	if v.Frequency != 1 || v.Monetary != 89 || v.RFM == nil || v.PAlive == nil || v.CLV == nil || v.Lifecycle != "churned" {
		t.Fatalf("value of cd00002 (one purchase day, $89, 17 months before): %+v", v)
	}
	e.aud.Recount(end) // the stages at the end of observation, not today
	var segs audience.Counts
	if code := call(t, e, "GET", "/v1/segments", "", &segs); code != 200 || segs.Customers != 23570 || segs.Model == nil {
		t.Fatalf("segments: %d %+v", code, segs)
	}
	var sum int64
	for _, n := range segs.Segments {
		sum += n
	}
	if sum != 23570 {
		t.Fatalf("segments sum to %d", sum)
	}
	nonEmpty := 0
	for _, n := range segs.Segments {
		if n > 0 {
			nonEmpty++
		}
	}
	if nonEmpty < 6 || segs.Lifecycle["churned"] == 0 || segs.Lifecycle["active"]+segs.Lifecycle["new"] == 0 {
		t.Fatalf("implausible spread: %v %v", segs.Segments, segs.Lifecycle)
	}
	t.Logf("segments %v, lifecycle %v", segs.Segments, segs.Lifecycle)

	// A restart reuses the persisted fit, without refitting.
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.Audience.RefitInterval = time.Hour
	e = start(t, cfg)
	got := e.aud.CurrentFit()
	if got == nil || got.BGNBD != fit.BGNBD || !got.At.Equal(fit.At) {
		t.Fatalf("fit after restart %+v, before %+v", got, fit)
	}
}
