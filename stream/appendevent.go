package stream

import (
	"strconv"
	"time"

	"github.com/stickyhq/sticky/features"
	"github.com/stickyhq/sticky/internal/jsonw"
)

// appendWire appends the JSON form of ev exactly as json.Marshal encodes
// the wireEvent AppendEvent makes of it.
func appendWire(dst []byte, ev *features.Event) []byte {
	if ev.ID != "" {
		dst = append(dst, `{"event_id":`...)
		dst = appendJSONString(dst, ev.ID)
		dst = append(dst, `,"user_id":`...)
	} else {
		dst = append(dst, `{"user_id":`...)
	}
	dst = appendJSONString(dst, ev.UserID)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, ev.Type.String())
	if ev.ItemID != "" {
		dst = append(dst, `,"item_id":`...)
		dst = appendJSONString(dst, ev.ItemID)
	}
	if len(ev.Items) > 0 {
		dst = append(dst, `,"items":[`...)
		for i, it := range ev.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, it)
		}
		dst = append(dst, ']')
	}
	if ev.RequestID != "" {
		dst = append(dst, `,"request_id":`...)
		dst = appendJSONString(dst, ev.RequestID)
	}
	if ev.CampaignID != "" {
		dst = append(dst, `,"campaign_id":`...)
		dst = appendJSONString(dst, ev.CampaignID)
	}
	if ev.Query != "" {
		dst = append(dst, `,"query":`...)
		dst = appendJSONString(dst, ev.Query)
	}
	dst = append(dst, `,"ts":`...)
	var tb [64]byte
	dst = appendJSONString(dst, ev.Time.UTC().AppendFormat(tb[:0], time.RFC3339Nano))
	if ev.Price != 0 {
		dst = append(dst, `,"price":`...)
		dst = appendJSONFloat(dst, ev.Price)
	}
	if ev.Quantity != 0 {
		dst = append(dst, `,"quantity":`...)
		dst = appendJSONFloat(dst, ev.Quantity)
	}
	if c := &ev.Context; *c != (features.Context{}) {
		dst = append(dst, `,"context":{`...)
		n := len(dst)
		for _, kv := range [...]struct{ k, v string }{{`"device":`, c.Device}, {`"region":`, c.Region}, {`"tz":`, c.TZ}, {`"page":`, c.Page}} {
			if kv.v == "" {
				continue
			}
			if len(dst) > n {
				dst = append(dst, ',')
			}
			dst = append(dst, kv.k...)
			dst = appendJSONString(dst, kv.v)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

// appendJSONFloat is encoding/json's float64 encoding; it panics on NaN
// and infinities, which json.Marshal refuses.
func appendJSONFloat(dst []byte, f float64) []byte {
	dst, ok := jsonw.Float(dst, f)
	if !ok {
		panic("BUG: cannot marshal an event: json: unsupported value: " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	return dst
}

// appendJSONString is encoding/json's string encoding (HTML-escaped, U+2028
// and U+2029 escaped, invalid UTF-8 as U+FFFD).
func appendJSONString[S []byte | string](dst []byte, src S) []byte {
	return jsonw.String(dst, src, true)
}
