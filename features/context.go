package features

import (
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // zones must resolve on machines without a zoneinfo database
)

// Zones resolves IANA time-zone names, caching the zones found. It is safe
// for concurrent use. Names longer than MaxZoneName and "Local" are refused
// without a lookup, failed lookups are not cached, and the cache stops
// growing at maxZones entries (there are about 600 IANA names).
type Zones struct {
	mu sync.RWMutex
	m  map[string]*time.Location
}

const maxZones = 2048

// MaxZoneName bounds the length of a time-zone name.
const MaxZoneName = 64

// errUnknownZone is returned for a name that is not an IANA zone.
var errUnknownZone = errors.New("unknown time zone")

// NewZones returns an empty cache.
func NewZones() *Zones { return &Zones{m: make(map[string]*time.Location)} }

// Load returns the location named name; "" is UTC.
func (z *Zones) Load(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if len(name) > MaxZoneName || name == "Local" {
		return nil, errUnknownZone
	}
	z.mu.RLock()
	loc, ok := z.m[name]
	z.mu.RUnlock()
	if ok {
		return loc, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, errUnknownZone
	}
	z.mu.Lock()
	if len(z.m) < maxZones {
		z.m[name] = loc
	}
	z.mu.Unlock()
	return loc, nil
}

// Daypart is a coarse part of the local day, used for context buckets and
// context affinities.
type Daypart uint8

// Dayparts, by local hour: night [0,6), morning [6,12), afternoon [12,18),
// evening [18,24).
const (
	Night Daypart = iota
	Morning
	Afternoon
	Evening
)

var daypartNames = [...]string{"night", "morning", "afternoon", "evening"}

func (d Daypart) String() string { return daypartNames[d&3] }

// DaypartOf returns the daypart of a local hour (0-23).
func DaypartOf(hour int) Daypart { return Daypart((hour % 24) / 6) }

// HourOfWeek returns 0..167 for a local time: Sunday 00:00 is 0.
func HourOfWeek(local time.Time) int { return int(local.Weekday())*24 + local.Hour() }

// AnyRegion is the region of buckets that hold all regions.
const AnyRegion = "*"

// Bucket names the context bucket of a region and daypart, e.g.
// "CN-SH|evening"; an empty region is AnyRegion. The names of the first
// maxBucketRegions regions are built once and shared: every event names
// two buckets, and every item's statistics keep their names.
func Bucket(region string, d Daypart) string {
	if region == "" {
		region = AnyRegion
	}
	if v, ok := bucketNames.Load(region); ok {
		return v.(*[4]string)[d&3]
	}
	if bucketRegions.Load() >= maxBucketRegions {
		return region + "|" + d.String()
	}
	var names [4]string
	for i := range names {
		names[i] = region + "|" + Daypart(i).String()
	}
	v, loaded := bucketNames.LoadOrStore(strings.Clone(region), &names)
	if !loaded {
		bucketRegions.Add(1)
	}
	return v.(*[4]string)[d&3]
}

// bucketNames maps a region to its buckets' names by daypart.
var (
	bucketNames   sync.Map // string -> *[4]string
	bucketRegions atomic.Int64
)

const maxBucketRegions = 4096

// CtxDaypartKey and CtxDeviceKey name the context-affinity entries of a
// category: how much the user likes it at this part of the day, or on this
// device.
func CtxDaypartKey(d Daypart, category string) string { return "d:" + d.String() + "|" + category }

// CtxDeviceKey: see CtxDaypartKey.
func CtxDeviceKey(device, category string) string { return "v:" + device + "|" + category }

// CtxDaypartCategory returns the category of key if it is a CtxDaypartKey
// of daypart d, without building the key.
func CtxDaypartCategory(key string, d Daypart) (string, bool) {
	return ctxCategory(key, 'd', d.String())
}

// CtxDeviceCategory returns the category of key if it is a CtxDeviceKey of
// device, without building the key.
func CtxDeviceCategory(key, device string) (string, bool) { return ctxCategory(key, 'v', device) }

func ctxCategory(key string, kind byte, ctx string) (string, bool) {
	if len(key) < len(ctx)+3 || key[0] != kind || key[1] != ':' || key[2+len(ctx)] != '|' || key[2:2+len(ctx)] != ctx {
		return "", false
	}
	return key[3+len(ctx):], true
}
