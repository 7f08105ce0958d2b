package workload

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stickyhq/sticky/features"
)

// The data sets in ../shared/data, mapped onto Sticky's schema.

// countryRegions maps the online-retail countries to a region and zone;
// others get their name as region and London time.
var countryRegions = map[string][2]string{
	"United Kingdom": {"GB", "Europe/London"}, "Germany": {"DE", "Europe/Berlin"}, "France": {"FR", "Europe/Paris"},
	"EIRE": {"IE", "Europe/Dublin"}, "Spain": {"ES", "Europe/Madrid"}, "Netherlands": {"NL", "Europe/Amsterdam"},
	"Belgium": {"BE", "Europe/Brussels"}, "Switzerland": {"CH", "Europe/Zurich"}, "Portugal": {"PT", "Europe/Lisbon"},
	"Australia": {"AU", "Australia/Sydney"}, "Norway": {"NO", "Europe/Oslo"}, "Italy": {"IT", "Europe/Rome"},
	"Channel Islands": {"GB-CHA", "Europe/London"}, "Finland": {"FI", "Europe/Helsinki"}, "Cyprus": {"CY", "Asia/Nicosia"},
	"Sweden": {"SE", "Europe/Stockholm"}, "Austria": {"AT", "Europe/Vienna"}, "Denmark": {"DK", "Europe/Copenhagen"},
	"Japan": {"JP", "Asia/Tokyo"}, "Poland": {"PL", "Europe/Warsaw"}, "USA": {"US", "America/New_York"},
	"Israel": {"IL", "Asia/Jerusalem"}, "Singapore": {"SG", "Asia/Singapore"}, "Iceland": {"IS", "Atlantic/Reykjavik"},
	"Canada": {"CA", "America/Toronto"}, "Greece": {"GR", "Europe/Athens"}, "Malta": {"MT", "Europe/Malta"},
	"United Arab Emirates": {"AE", "Asia/Dubai"}, "Lebanon": {"LB", "Asia/Beirut"}, "Lithuania": {"LT", "Europe/Vilnius"},
	"Brazil": {"BR", "America/Sao_Paulo"}, "Czech Republic": {"CZ", "Europe/Prague"}, "Bahrain": {"BH", "Asia/Bahrain"},
	"Saudi Arabia": {"SA", "Asia/Riyadh"}, "RSA": {"ZA", "Africa/Johannesburg"},
}

// OnlineRetail reads the UCI online-retail log (online_retail.csv.gz) as
// purchase events: every clean sale line (a customer, quantity > 0, price >
// 0, not a cancellation) is one purchase of quantity units at the unit
// price by customer c<CustomerID>, at the invoice time (UK local time), in
// the region and zone of the customer's country. Items are stock codes,
// titled by their first description, with the description's last word as
// category (words used by fewer than 20 items become OTHER); all are
// available and repeatable (shops re-order gift-ware).
func OnlineRetail(path string) (*Workload, error) {
	r, err := open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return nil, err
	}
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	if _, err := cr.Read(); err != nil {
		return nil, fmt.Errorf("cannot read the header of %s: %w", path, err)
	}
	type info struct {
		title string
		price float64
	}
	items := map[string]*info{}
	w := &Workload{Name: "online-retail (UCI 352)"}
	line := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		invoice, code, desc, qtyS, dateS, priceS, cust, country := rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6], rec[7]
		qty, err1 := strconv.ParseFloat(qtyS, 64)
		price, err2 := strconv.ParseFloat(priceS, 64)
		if err1 != nil || err2 != nil || cust == "" || qty <= 0 || price <= 0 || strings.HasPrefix(invoice, "C") {
			continue
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05", dateS, london)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if _, ok := items[code]; !ok {
			items[code] = &info{title: strings.TrimSpace(desc), price: price}
		}
		reg := countryRegions[country]
		if reg[0] == "" {
			reg = [2]string{country, "Europe/London"}
		}
		w.Events = append(w.Events, features.Event{
			ID: "or-" + strconv.Itoa(line), UserID: "c" + strings.TrimSuffix(cust, ".0"), Type: features.TypePurchase,
			ItemID: code, Time: at.UTC(), Price: price, Quantity: qty,
			Context: features.Context{Region: reg[0], TZ: reg[1], Device: "desktop", Page: "checkout"},
		})
	}
	// Categories: the last word of the description, if at least 20 items share it.
	last := func(title string) string {
		f := strings.Fields(title)
		if len(f) == 0 {
			return "OTHER"
		}
		return strings.Trim(f[len(f)-1], ".,;:+-()'\"")
	}
	uses := map[string]int{}
	for _, it := range items {
		uses[last(it.title)]++
	}
	codes := make([]string, 0, len(items))
	for c := range items {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		it := items[c]
		cat := last(it.title)
		if uses[cat] < 20 || cat == "" {
			cat = "OTHER"
		}
		w.Items = append(w.Items, features.Item{ID: c, Title: it.title, Category: cat, Price: it.price, Available: true, Repeatable: true})
	}
	sortByTime(w.Events)
	return w, nil
}

// CDNOW reads CDNOW_master.txt as purchase events: each line is a purchase
// of the CD shop's single item "cd" by customer cd<id> at noon UTC on its
// date, priced at its dollar value. It has no catalogue worth ranking: use
// it for ingest and customer-value figures, not recommendation quality.
func CDNOW(path string) (*Workload, error) {
	r, err := open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	w := &Workload{Name: "CDNOW", Items: []features.Item{{ID: "cd", Title: "a CD", Category: "Music", Available: true, Repeatable: true}}}
	sc := bufio.NewScanner(r)
	sc.Scan() // header
	for n := 2; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) != 4 {
			continue
		}
		day, err := time.Parse("20060102", f[1])
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		v, err := strconv.ParseFloat(f[3], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		w.Events = append(w.Events, features.Event{ID: "cdnow-" + strconv.Itoa(n), UserID: "cd" + f[0], Type: features.TypePurchase,
			ItemID: "cd", Time: day.Add(12 * time.Hour), Price: v, Quantity: 1})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	sortByTime(w.Events)
	return w, nil
}

// Dataset loads a named data set from dir (../shared/data): online-retail
// or cdnow.
func Dataset(name, dir string) (*Workload, error) {
	switch name {
	case "online-retail":
		return OnlineRetail(filepath.Join(dir, "online-retail", "online_retail.csv.gz"))
	case "cdnow":
		return CDNOW(filepath.Join(dir, "cdnow", "CDNOW_master.txt"))
	}
	return nil, fmt.Errorf("unknown data set %q: online-retail or cdnow", name)
}
