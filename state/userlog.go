package state

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/stickyhq/sticky/features"
)

// User logs.
//
// A batch committed with a Folded (see Batch) does not write its users'
// vectors: it writes one user log record, the events it folded into them
// with what the fold read of each event's item, under the partition and
// the batch's offset. The vectors it produced are kept in memory (the live
// vectors, which reads see first) until the partition's next Checkpoint
// writes them whole and deletes the records it covers. Live ingest folds
// one event or two per user between checkpoints, so a record of about a
// hundred bytes per event replaces a rewrite of a vector of a few KiB per
// event, and Badger flushes and compacts that much less.
//
// Recovery (RecoverUsers) folds the records a checkpoint has not covered
// into the vectors as stored, in offset order: the fold is deterministic,
// and each record carries the item attributes the fold read, so the
// vectors come out byte for byte as they were before a crash. A stored
// vector records the offset it is current up to (userRecordV1), so a
// checkpoint cut short between its transactions is recovered exactly too.

// Folded is what one batch folded into its partition's users: Events[i]
// was folded with Items[i] (nil: the item was unknown or there was none).
type Folded struct {
	Events []features.Event
	Items  []*features.Item
}

// Add appends ev, folded with item, keeping only the item's attributes the
// fold reads (a snapshot: the catalogue may change before recovery).
func (f *Folded) Add(ev *features.Event, item *features.Item) {
	f.Events = append(f.Events, *ev)
	var snap *features.Item
	if item != nil {
		snap = &features.Item{ID: item.ID, Category: item.Category, Brand: item.Brand, Price: item.Price}
	}
	f.Items = append(f.Items, snap)
}

// Reset empties f, keeping its arrays (and dropping its references).
func (f *Folded) Reset() {
	clear(f.Events)
	clear(f.Items)
	f.Events, f.Items = f.Events[:0], f.Items[:0]
}

// Len is the number of events in f.
func (f *Folded) Len() int { return len(f.Events) }

const (
	userLogV1 = 1
	// userRecordV1 is a stored user vector (key u) with the offset of its
	// partition it is current up to: the tag, the offset (varint), then
	// the vector as AppendUser encodes it. A vector without the tag was
	// written whole by its batch: no user log record applies to it.
	userRecordV1 = 0x80
)

// maxFolded bounds the events of one user log record (a batch).
const maxFolded = 1 << 18

// AppendFolded appends the encoding of a user log record to dst.
//
// Layout (version 1): the event count, then per event its fields (strings
// uvarint length-prefixed, the time as Unix seconds and nanoseconds, floats
// IEEE little-endian) and its item: a byte 0 (none) or 1 followed by its
// id, category, brand and price.
func AppendFolded(dst []byte, f *Folded) []byte {
	w := writer{b: dst}
	w.byte(userLogV1)
	w.uvarint(uint64(len(f.Events)))
	for i := range f.Events {
		ev := &f.Events[i]
		w.str(ev.ID)
		w.str(ev.UserID)
		w.byte(byte(ev.Type))
		w.str(ev.ItemID)
		w.uvarint(uint64(len(ev.Items)))
		for _, it := range ev.Items {
			w.str(it)
		}
		w.str(ev.RequestID)
		w.str(ev.CampaignID)
		w.str(ev.Query)
		w.varint(ev.Time.Unix())
		w.uvarint(uint64(ev.Time.Nanosecond()))
		w.f64(ev.Price)
		w.f64(ev.Quantity)
		w.str(ev.Context.Device)
		w.str(ev.Context.Region)
		w.str(ev.Context.TZ)
		w.str(ev.Context.Page)
		if it := f.Items[i]; it == nil {
			w.byte(0)
		} else {
			w.byte(1)
			w.str(it.ID)
			w.str(it.Category)
			w.str(it.Brand)
			w.f64(it.Price)
		}
	}
	return w.b
}

// DecodeFolded calls fn for each event of a user log record, in order,
// with the item it was folded with (nil: none). ev and item are reused
// between calls (the strings and slices they hold are not).
func DecodeFolded(b []byte, fn func(ev *features.Event, item *features.Item) error) error {
	r := reader{b: b}
	if v := r.byte(); r.err == nil && v != userLogV1 {
		return fmt.Errorf("user log record of version %d: %w", v, ErrCorrupt)
	}
	n := r.countMax(8, maxFolded)
	var ev features.Event
	var item features.Item
	for range n {
		ev = features.Event{}
		ev.ID = r.str()
		ev.UserID = r.str()
		ev.Type = features.Type(r.byte())
		ev.ItemID = r.str()
		k := r.countMax(1, features.MaxItems)
		for range k {
			ev.Items = append(ev.Items, r.str())
		}
		if k == 0 {
			ev.Items = nil
		}
		ev.RequestID = r.str()
		ev.CampaignID = r.str()
		ev.Query = r.str()
		sec := r.varint()
		nsec := r.uvarint()
		if nsec >= 1e9 {
			r.fail("event time with %d ns", nsec)
		}
		ev.Time = time.Unix(sec, int64(nsec)).UTC()
		ev.Price = r.f64()
		ev.Quantity = r.f64()
		ev.Context.Device = r.str()
		ev.Context.Region = r.str()
		ev.Context.TZ = r.str()
		ev.Context.Page = r.str()
		var it *features.Item
		switch r.byte() {
		case 0:
		case 1:
			item = features.Item{ID: r.str(), Category: r.str(), Brand: r.str(), Price: r.f64()}
			it = &item
		default:
			r.fail("item flag")
		}
		if r.err != nil {
			return fmt.Errorf("cannot decode user log record: %w", r.err)
		}
		if err := fn(&ev, it); err != nil {
			return err
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes after the events", len(r.b))
	}
	if r.err != nil {
		return fmt.Errorf("cannot decode user log record: %w", r.err)
	}
	return nil
}

// appendUserRecord appends the stored form of a vector that reflects every
// user log record of its partition up to offset covered.
func appendUserRecord(dst []byte, covered int64, v []byte) []byte {
	dst = append(dst, userRecordV1)
	dst = binary.AppendVarint(dst, covered)
	return append(dst, v...)
}

// splitUserRecord returns the offset a stored vector is current up to (-1:
// written whole, every record applies) and its AppendUser encoding.
func splitUserRecord(v []byte) (covered int64, vec []byte, err error) {
	if len(v) == 0 || v[0] != userRecordV1 {
		return -1, v, nil
	}
	r := reader{b: v[1:]}
	covered = r.varint()
	if r.err != nil {
		return 0, nil, fmt.Errorf("cannot decode user record: %w", r.err)
	}
	return covered, r.b, nil
}
