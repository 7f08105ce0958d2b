package state

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/stickyhq/sticky/features"
)

// Codec versions. The first byte of every encoded value is its version;
// decoders accept every version they know and encoders write the newest.
const (
	userV1 = 1 // up to the value features
	userV2 = 2 // + purchase days, repeat spend, return time, loyalty points
	userV3 = 3 // + recent pushes, push responsiveness
	// storedUser marks a user vector as the store keeps it (key u): the
	// offset of its partition it is current up to (varint), then the
	// user encoding. A vector without it (written before write-behind)
	// is current up to its partition's stored offset.
	storedUser = 0xF5
	itemV1     = 1
	// itemShareV2 is a stored share (key i): the offset it is current up
	// to (varint), then the version-1 item statistics. A stored share of
	// version 1 predates delta records: every delta record applies to it.
	itemShareV2 = 2
	deltasV1    = 1
)

// Limits the decoder enforces so that a corrupt length cannot allocate
// without bound.
const (
	maxStr     = 1 << 12
	maxEntries = 1 << 14
)

// AppendUser appends the encoding of u (without u.ID) to dst.
//
// Layout (version 1): times are varints relative to LastSeen (so recent ones
// take a byte or two), floats are IEEE little-endian, strings and lists are
// uvarint length-prefixed, the hour histogram stores non-zero bins only.
func AppendUser(dst []byte, u *features.User) []byte {
	w := writer{b: dst}
	ref := u.LastSeen
	w.byte(userV3)
	w.varint(u.LastSeen)
	w.varint(ref - u.FirstSeen)
	w.uvarint(uint64(u.Events))
	for _, s := range []features.Scores{u.Categories, u.Brands, u.CtxCategories, u.Devices} {
		w.scores(s, ref)
	}
	w.varint(ref - u.Hours.At)
	nz := 0
	for _, v := range u.Hours.Bins {
		if v != 0 {
			nz++
		}
	}
	w.uvarint(uint64(nz))
	for i, v := range u.Hours.Bins {
		if v != 0 {
			w.byte(byte(i))
			w.f32(v)
		}
	}
	w.uvarint(uint64(len(u.Recent)))
	for _, r := range u.Recent {
		w.str(r.Item)
		w.byte(byte(r.Type))
		w.varint(ref - r.At)
	}
	for _, ms := range [][]features.Mark{u.Purchased, u.Dismissed} {
		w.uvarint(uint64(len(ms)))
		for _, m := range ms {
			w.str(m.Item)
			w.varint(ref - m.At)
			w.uvarint(uint64(m.N))
		}
	}
	w.str(u.Region)
	w.str(u.TZ)
	w.f64(u.Price.W)
	w.f64(u.Price.Mean)
	w.f64(u.Price.M2)
	w.varint(ref - u.Price.At)
	o := u.Orders
	w.varint(ref - o.First)
	w.varint(ref - o.Last)
	w.uvarint(uint64(o.Count))
	w.f64(o.Units)
	w.f64(o.Monetary)
	w.uvarint(uint64(o.Days))
	w.f64(o.FirstDaySpend)
	w.f64(o.LastDaySpend)
	w.f64(o.RepeatSpend)
	w.varint(ref - o.ReturnedAt)
	w.uvarint(uint64(len(u.Points)))
	for _, b := range u.Points {
		w.varint(int64(b.Month))
		w.byte(byte(b.Source))
		w.f64(b.Points)
	}
	p := u.Push
	var flags byte
	if p.OptedOut {
		flags |= 1
	}
	w.byte(flags)
	w.uvarint(uint64(p.Sent))
	w.uvarint(uint64(p.Opens))
	w.varint(ref - p.LastSent)
	w.varint(ref - p.LastOpen)
	w.uvarint(uint64(len(p.Recent)))
	for _, s := range p.Recent {
		w.varint(ref - s.At)
		w.u32(s.Campaign)
	}
	for _, d := range []features.Decayed{p.SentD, p.OpenD} {
		w.f32(d.V)
		w.varint(ref - d.At)
	}
	n := 0
	for n < len(u.Seen) && u.Seen[n] != 0 {
		n++
	}
	w.uvarint(uint64(n))
	for _, h := range u.Seen[:n] {
		w.u64(h)
	}
	return w.b
}

// appendStoredUser appends the stored form of u, current up to offset
// upTo of its partition.
func appendStoredUser(dst []byte, upTo int64, u *features.User) []byte {
	dst = append(dst, storedUser)
	dst = binary.AppendVarint(dst, upTo)
	return AppendUser(dst, u)
}

// storedUpTo returns the offset a stored user vector is current up to; -1
// when it does not say (a plain encoding) or cannot be read.
func storedUpTo(b []byte) int64 {
	if len(b) == 0 || b[0] != storedUser {
		return -1
	}
	v, n := binary.Varint(b[1:])
	if n <= 0 {
		return -1
	}
	return v
}

// DecodeUser decodes b (AppendUser's encoding, or the store's form of
// it) into u, replacing its contents except u.ID. The decoded value does
// not alias b.
func DecodeUser(b []byte, u *features.User) error {
	id := u.ID
	*u = features.User{ID: id}
	r := reader{b: b}
	return r.user(u)
}

// DecodeUserView decodes b into u like DecodeUser, for a reader that drops
// u soon after (a recommendation request): it reuses the capacity of u's
// slices, and every string of u is a substring of one copy of b, so that
// decoding allocates once. Do not keep u's strings: each holds the whole
// copy alive.
func DecodeUserView(b []byte, u *features.User) error {
	keep := *u
	*u = features.User{ID: keep.ID}
	u.Categories, u.Brands, u.CtxCategories, u.Devices = keep.Categories[:0], keep.Brands[:0], keep.CtxCategories[:0], keep.Devices[:0]
	u.Recent, u.Purchased, u.Dismissed, u.Points, u.Push.Recent = keep.Recent[:0], keep.Purchased[:0], keep.Dismissed[:0], keep.Points[:0], keep.Push.Recent[:0]
	r := reader{b: b, arena: string(b), size: len(b)}
	return r.user(u)
}

// user decodes a user vector into u, whose slices are empty (nil, or of
// a capacity to reuse).
func (r *reader) user(u *features.User) error {
	version := r.byte()
	if version == storedUser { // the store's form: skip the offset
		r.varint()
		version = r.byte()
	}
	if version < userV1 || version > userV3 {
		if r.err != nil {
			return fmt.Errorf("cannot decode user: %w", r.err)
		}
		return fmt.Errorf("cannot decode user: unknown version %d: %w", version, ErrCorrupt)
	}
	ref := r.varint()
	u.LastSeen = ref
	u.FirstSeen = ref - r.varint()
	u.Events = r.u32()
	u.Categories = r.scores(u.Categories, ref)
	u.Brands = r.scores(u.Brands, ref)
	u.CtxCategories = r.scores(u.CtxCategories, ref)
	u.Devices = r.scores(u.Devices, ref)
	u.Hours.At = ref - r.varint()
	nz := r.count(5)
	if nz > len(u.Hours.Bins) {
		r.fail("hour histogram has %d bins", nz)
	}
	for i := 0; i < nz && r.err == nil; i++ {
		idx := int(r.byte())
		v := r.f32()
		if idx >= len(u.Hours.Bins) {
			r.fail("hour bin %d", idx)
			break
		}
		u.Hours.Bins[idx] = v
	}
	if n := r.count(3); n > 0 {
		u.Recent = slices.Grow(u.Recent, n)[:n]
		for i := range u.Recent {
			u.Recent[i] = features.Recent{Item: r.str(), Type: r.typ(), At: ref - r.varint()}
		}
	}
	u.Purchased = r.marks(u.Purchased, ref)
	u.Dismissed = r.marks(u.Dismissed, ref)
	u.Region = r.str()
	u.TZ = r.str()
	u.Price = features.PriceBand{W: r.f64(), Mean: r.f64(), M2: r.f64()}
	u.Price.At = ref - r.varint()
	u.Orders.First = ref - r.varint()
	u.Orders.Last = ref - r.varint()
	u.Orders.Count = r.u32()
	u.Orders.Units = r.f64()
	u.Orders.Monetary = r.f64()
	if version >= userV2 {
		u.Orders.Days = r.u32()
		u.Orders.FirstDaySpend = r.f64()
		u.Orders.LastDaySpend = r.f64()
		u.Orders.RepeatSpend = r.f64()
		u.Orders.ReturnedAt = ref - r.varint()
		if n := r.count(10); n > 0 {
			u.Points = slices.Grow(u.Points, n)[:n]
			for i := range u.Points {
				m := r.varint()
				if m < math.MinInt32 || m > math.MaxInt32 {
					r.fail("points month %d", m)
				}
				u.Points[i] = features.PointsBucket{Month: int32(m), Source: r.typ(), Points: r.f64()}
			}
		}
	} else if u.Orders.Count > 0 {
		// Version 1 kept no purchase days: one day, or two when the first
		// and latest purchases fall on different days. The split of spend
		// between days is unknown; the Gamma-Gamma inputs start from here.
		u.Orders.Days = 1
		if u.Orders.First/86_400_000 != u.Orders.Last/86_400_000 {
			u.Orders.Days = 2
		}
	}
	flags := r.byte()
	u.Push.OptedOut = flags&1 != 0
	u.Push.Sent = r.u32()
	u.Push.Opens = r.u32()
	u.Push.LastSent = ref - r.varint()
	u.Push.LastOpen = ref - r.varint()
	if version >= userV3 {
		if k := r.count(5); k > 0 {
			u.Push.Recent = slices.Grow(u.Push.Recent, k)[:k]
			for i := range u.Push.Recent {
				u.Push.Recent[i] = features.PushSend{At: ref - r.varint(), Campaign: r.u32fixed()}
			}
		}
		for _, d := range []*features.Decayed{&u.Push.SentD, &u.Push.OpenD} {
			d.V = r.f32()
			d.At = ref - r.varint()
		}
	}
	n := r.count(8)
	if n > len(u.Seen) {
		r.fail("%d seen ids", n)
	}
	for i := 0; i < n && r.err == nil; i++ {
		u.Seen[i] = r.u64()
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("cannot decode user: %w", r.err)
	}
	return nil
}

// AppendItemStats appends the encoding of s to dst.
func AppendItemStats(dst []byte, s *features.ItemStats) []byte {
	w := writer{b: dst}
	w.byte(itemV1)
	ref := max(s.Pop.At, s.Short.At, s.Long.At)
	w.varint(ref)
	for _, d := range []features.Decayed{s.Pop, s.Short, s.Long} {
		w.f32(d.V)
		w.varint(ref - d.At)
	}
	w.scores(s.Buckets, ref)
	w.scores(s.Neighbours, ref)
	w.uvarint(uint64(s.Actions))
	w.uvarint(uint64(s.Purchases))
	return w.b
}

// DecodeItemStats decodes b into s, replacing its contents.
func DecodeItemStats(b []byte, s *features.ItemStats) error {
	r := reader{b: b}
	if v := r.byte(); v != itemV1 {
		if r.err != nil {
			return fmt.Errorf("cannot decode item stats: %w", r.err)
		}
		return fmt.Errorf("cannot decode item stats: unknown version %d: %w", v, ErrCorrupt)
	}
	*s = features.ItemStats{}
	ref := r.varint()
	for _, d := range []*features.Decayed{&s.Pop, &s.Short, &s.Long} {
		d.V = r.f32()
		d.At = ref - r.varint()
	}
	s.Buckets = r.scores(nil, ref)
	s.Neighbours = r.scores(nil, ref)
	s.Actions = r.u32()
	s.Purchases = r.u32()
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("cannot decode item stats: %w", r.err)
	}
	return nil
}

// appendItemShare appends the stored form of a partition's share of an
// item's statistics that reflects every delta up to offset covered.
func appendItemShare(dst []byte, covered int64, s *features.ItemStats) []byte {
	dst = append(dst, itemShareV2)
	dst = binary.AppendVarint(dst, covered)
	return AppendItemStats(dst, s)
}

// decodeItemShare decodes a stored share into s and returns the offset up
// to which it is current; -1 for a share of version 1.
func decodeItemShare(b []byte, s *features.ItemStats) (covered int64, err error) {
	if len(b) > 0 && b[0] == itemShareV2 {
		r := reader{b: b[1:]}
		covered = r.varint()
		if r.err != nil {
			return 0, fmt.Errorf("cannot decode item share: %w", r.err)
		}
		return covered, DecodeItemStats(r.b, s)
	}
	return -1, DecodeItemStats(b, s)
}

// maxDeltas bounds the entries of one delta record: a batch of up to
// 50,000 events with a popularity contribution and 5 pairs each.
const maxDeltas = 1 << 18

// AppendDeltas appends the encoding of a batch's item deltas to dst.
//
// Layout (version 1): times are varints relative to the first delta's,
// weights IEEE little-endian, strings uvarint length-prefixed; the pops,
// then the pairs, each list count-prefixed, in their order in d (the order
// they are applied in).
func AppendDeltas(dst []byte, d *features.Deltas) []byte {
	w := writer{b: dst}
	w.byte(deltasV1)
	var ref int64
	if len(d.Pops) > 0 {
		ref = d.Pops[0].At
	} else if len(d.Pairs) > 0 {
		ref = d.Pairs[0].At
	}
	w.varint(ref)
	w.uvarint(uint64(len(d.Pops)))
	for i := range d.Pops {
		p := &d.Pops[i]
		w.str(p.Item)
		w.byte(byte(p.Type))
		w.varint(p.At - ref)
		w.f32(p.W)
		w.str(p.Region)
		w.byte(byte(p.Daypart))
	}
	w.uvarint(uint64(len(d.Pairs)))
	for i := range d.Pairs {
		p := &d.Pairs[i]
		w.str(p.A)
		w.str(p.B)
		w.f32(p.W)
		w.varint(p.At - ref)
	}
	return w.b
}

// DecodeDeltas decodes b into d, replacing its contents (its slices are
// reused). The decoded value does not alias b.
func DecodeDeltas(b []byte, d *features.Deltas) error {
	r := reader{b: b}
	if v := r.byte(); v != deltasV1 {
		if r.err != nil {
			return fmt.Errorf("cannot decode item deltas: %w", r.err)
		}
		return fmt.Errorf("cannot decode item deltas: unknown version %d: %w", v, ErrCorrupt)
	}
	d.Reset()
	ref := r.varint()
	n := r.countMax(9, maxDeltas)
	for i := 0; i < n && r.err == nil; i++ {
		p := features.Pop{Item: r.str(), Type: r.typ(), At: ref + r.varint(), W: r.f32(), Region: r.str()}
		dp := r.byte()
		if dp > byte(features.Evening) {
			r.fail("daypart %d", dp)
		}
		p.Daypart = features.Daypart(dp)
		d.Pops = append(d.Pops, p)
	}
	n = r.countMax(7, maxDeltas)
	for i := 0; i < n && r.err == nil; i++ {
		d.Pairs = append(d.Pairs, features.Pair{A: r.str(), B: r.str(), W: r.f32(), At: ref + r.varint()})
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		d.Reset()
		return fmt.Errorf("cannot decode item deltas: %w", r.err)
	}
	return nil
}

type writer struct{ b []byte }

func (w *writer) byte(v byte)      { w.b = append(w.b, v) }
func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *writer) f32(v float32)    { w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(v)) }
func (w *writer) f64(v float64)    { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }
func (w *writer) u64(v uint64)     { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) u32(v uint32)     { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *writer) scores(s features.Scores, ref int64) {
	w.uvarint(uint64(len(s)))
	for _, e := range s {
		w.str(e.Key)
		w.f32(e.V)
		w.varint(ref - e.At)
	}
}

// reader decodes; after the first error every read returns zero values and
// err keeps that first error.
type reader struct {
	b   []byte
	err error

	// arena, when set, is a copy of the whole input (of length size):
	// strings are read as substrings of it rather than allocated.
	arena string
	size  int
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrCorrupt)
	}
	r.b = nil
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.fail("need %d bytes, have %d", n, len(r.b))
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) byte() byte {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u32() uint32 {
	v := r.uvarint()
	if v > math.MaxUint32 {
		r.fail("counter %d overflows", v)
		return 0
	}
	return uint32(v)
}

// count reads a list length whose entries take at least minSize bytes each,
// rejecting lengths the remaining input cannot hold.
func (r *reader) count(minSize int) int { return r.countMax(minSize, maxEntries) }

// countMax is count with a limit of its own.
func (r *reader) countMax(minSize, limit int) int {
	n := r.uvarint()
	if n > uint64(limit) || n*uint64(minSize) > uint64(len(r.b)) {
		r.fail("list of %d entries", n)
		return 0
	}
	return int(n)
}

func (r *reader) f32() float32 {
	if v := r.take(4); v != nil {
		return math.Float32frombits(binary.LittleEndian.Uint32(v))
	}
	return 0
}

func (r *reader) f64() float64 {
	if v := r.take(8); v != nil {
		return math.Float64frombits(binary.LittleEndian.Uint64(v))
	}
	return 0
}

func (r *reader) u32fixed() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}

func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}

func (r *reader) str() string {
	n := r.uvarint()
	if n > maxStr {
		r.fail("string of %d bytes", n)
		return ""
	}
	if r.arena != "" {
		off := r.size - len(r.b)
		if r.take(int(n)) == nil {
			return ""
		}
		return r.arena[off : off+int(n)]
	}
	return string(r.take(int(n)))
}

func (r *reader) typ() features.Type {
	t := features.Type(r.byte())
	if t.String() == features.TypeUnknown.String() && r.err == nil {
		r.fail("event type %d", t)
	}
	return t
}

// scores reads a list of scores into dst's capacity (dst is empty).
func (r *reader) scores(dst features.Scores, ref int64) features.Scores {
	n := r.count(6)
	if n == 0 {
		return dst
	}
	s := slices.Grow(dst, n)[:n]
	for i := range s {
		s[i].SetKey(r.str())
		s[i].V = r.f32()
		s[i].At = ref - r.varint()
	}
	return s
}

// marks reads a list of marks into dst's capacity (dst is empty).
func (r *reader) marks(dst []features.Mark, ref int64) []features.Mark {
	n := r.count(3)
	if n == 0 {
		return dst
	}
	ms := slices.Grow(dst, n)[:n]
	for i := range ms {
		ms[i] = features.Mark{Item: r.str(), At: ref - r.varint(), N: r.u32()}
	}
	return ms
}
