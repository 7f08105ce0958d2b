package stream

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/stickyhq/sticky/features"
)

// wireEvent is the JSON form of an event on the events topic. Unknown
// fields are ignored.
type wireEvent struct {
	EventID    string           `json:"event_id,omitempty"`
	UserID     string           `json:"user_id"`
	Type       string           `json:"type"`
	ItemID     string           `json:"item_id,omitempty"`
	Items      []string         `json:"items,omitempty"`
	RequestID  string           `json:"request_id,omitempty"`
	CampaignID string           `json:"campaign_id,omitempty"`
	Query      string           `json:"query,omitempty"`
	TS         string           `json:"ts"`
	Price      float64          `json:"price,omitempty"`
	Quantity   float64          `json:"quantity,omitempty"`
	Context    features.Context `json:"context,omitzero"`
}

// MaxEventBytes is the largest event the decoder accepts.
const MaxEventBytes = 64 << 10

// DecodeEvent decodes and validates one JSON event. zones resolves
// context.tz (nil: not checked). Every error is a *features.FieldError; the
// field is "body" when the input is not a JSON object at all. With an
// error, the event returned holds what could be decoded (its Type, if
// known), for counting.
func DecodeEvent(b []byte, zones *features.Zones) (features.Event, error) {
	if len(b) > MaxEventBytes {
		return features.Event{}, &features.FieldError{Field: "body", Reason: fmt.Sprintf("is larger than %d bytes", MaxEventBytes)}
	}
	var w eventScanner // eventjson.go: decides as json.Unmarshal into wireEvent would
	if err := w.decodeWire(b); err != nil {
		return features.Event{}, err
	}
	ev := features.Event{
		ID: w.eventID, UserID: w.userID, Type: typeByName[string(w.typeName)], ItemID: w.itemID, Items: w.items,
		RequestID: w.requestID, CampaignID: w.campaignID, Query: w.query,
		Price: w.price, Quantity: w.quantity, Context: w.ctx,
	}
	if len(w.ts) > 0 {
		t, err := parseTS(w.ts)
		if err != nil {
			return ev, &features.FieldError{Field: "ts", Reason: "is not an RFC 3339 time"}
		}
		ev.Time = t
	}
	if len(w.typeName) > 0 && ev.Type == features.TypeUnknown {
		return ev, &features.FieldError{Field: "type", Reason: fmt.Sprintf("%q is not a known event type", truncate(string(w.typeName), 40))}
	}
	if err := ev.Validate(zones); err != nil {
		return ev, err
	}
	return ev, nil
}

// DecodeRecord decodes one record of the events topic: the event must be
// valid, its key must be its user_id (a shopper's events must stay in one
// partition), and its time may be at most maxSkew after the record's
// timestamp (when the record has one), so that a clock far in the future
// cannot pin decayed values. It depends only on the record, so that any
// replay of the log decides the same.
func DecodeRecord(rec *kgo.Record, zones *features.Zones, maxSkew time.Duration) (features.Event, error) {
	ev, err := DecodeEvent(rec.Value, zones)
	if err != nil {
		return ev, err
	}
	if string(rec.Key) != ev.UserID {
		return ev, &features.FieldError{Field: "key", Reason: "must equal user_id (records are keyed by user)"}
	}
	if !rec.Timestamp.IsZero() {
		if err := CheckFuture(ev.Time, rec.Timestamp, maxSkew); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// CheckFuture rejects an event time more than maxSkew after now.
func CheckFuture(ts, now time.Time, maxSkew time.Duration) error {
	if maxSkew > 0 && ts.After(now.Add(maxSkew)) {
		return &features.FieldError{Field: "ts", Reason: fmt.Sprintf("is more than %v in the future", maxSkew)}
	}
	return nil
}

// DecodeEvents splits a body holding one JSON event or a JSON array of
// events into its elements, undecoded.
func DecodeEvents(body []byte) ([]json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, &features.FieldError{Field: "body", Reason: "is empty: send one JSON event or an array of events"}
	}
	if body[0] != '[' {
		return []json.RawMessage{body}, nil
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, jsonFieldError(err)
	}
	return raw, nil
}

// AppendEvent appends the JSON form of ev to dst: byte for byte what
// json.Marshal makes of its wireEvent (appendevent.go), which the
// equivalence tests check. It panics if a number is NaN or infinite, as it
// did with json.Marshal.
func AppendEvent(dst []byte, ev *features.Event) []byte {
	return appendWire(dst, ev)
}

// DecodeItem decodes and validates one catalogue item; key is the record key
// (the item id), which the value must agree with.
func DecodeItem(key, value []byte) (features.Item, error) {
	var it features.Item
	if err := json.Unmarshal(value, &it); err != nil {
		return it, jsonFieldError(err)
	}
	if it.ID == "" {
		it.ID = string(key)
	}
	if len(key) > 0 && string(key) != it.ID {
		return it, &features.FieldError{Field: "item_id", Reason: "differs from the record key"}
	}
	if err := it.Validate(); err != nil {
		return it, err
	}
	return it, nil
}

// jsonFieldError turns a json error into a FieldError naming the field when
// json knows it.
func jsonFieldError(err error) *features.FieldError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if field == "" {
			field = "body"
		}
		return &features.FieldError{Field: field, Reason: fmt.Sprintf("must be a JSON %s, not %s", jsonKind(te.Type.Kind().String()), te.Value)}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &features.FieldError{Field: "body", Reason: fmt.Sprintf("is not valid JSON (at byte %d): %v", se.Offset, err)}
	}
	return &features.FieldError{Field: "body", Reason: "is not valid JSON: " + err.Error()}
}

func jsonKind(k string) string {
	switch k {
	case "float64", "int", "int64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	}
	return k
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
