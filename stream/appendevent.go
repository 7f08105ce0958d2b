package stream

import (
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/stickyhq/sticky/features"
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
	if math.IsInf(f, 0) || math.IsNaN(f) {
		panic("BUG: cannot marshal an event: json: unsupported value: " + strconv.FormatFloat(f, 'g', -1, 64))
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// htmlSafe: ASCII bytes json.Marshal writes as they are.
var htmlSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendJSONString is encoding/json's string encoding (HTML-escaped, U+2028
// and U+2029 escaped, invalid UTF-8 as U+FFFD).
func appendJSONString[S []byte | string](dst []byte, src S) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(src); {
		if b := src[i]; b < utf8.RuneSelf {
			if htmlSafe[b] {
				i++
				continue
			}
			dst = append(dst, src[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(src)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(src[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, src[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, src[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, src[start:]...)
	return append(dst, '"')
}
