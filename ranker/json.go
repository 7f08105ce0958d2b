package ranker

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// AppendJSON appends the JSON encoding of r to dst: byte for byte what
// encoding/json's Encoder writes with SetEscapeHTML(false), without the
// trailing newline, but without reflection or allocation. Recommendations
// are the hot path; TestAppendJSONMatchesEncodingJSON holds the two equal.
func (r *Response) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"user_id":`...)
	dst = appendString(dst, r.UserID)
	dst = append(dst, `,"items":`...)
	if r.Items == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i := range r.Items {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = r.Items[i].appendJSON(dst)
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"known_user":`...)
	dst = strconv.AppendBool(dst, r.KnownUser)
	dst = append(dst, `,"candidates":`...)
	dst = strconv.AppendInt(dst, int64(r.Candidates), 10)
	dst = append(dst, `,"daypart":`...)
	dst = appendString(dst, r.Daypart)
	if r.Region != "" {
		dst = append(dst, `,"region":`...)
		dst = appendString(dst, r.Region)
	}
	if r.Device != "" {
		dst = append(dst, `,"device":`...)
		dst = appendString(dst, r.Device)
	}
	if a := r.Audience; a != nil {
		dst = append(dst, `,"audience":{"rule":`...)
		dst = appendString(dst, a.Rule)
		dst = append(dst, `,"matched":`...)
		dst = strconv.AppendBool(dst, a.Matched)
		dst = append(dst, '}')
	}
	return append(dst, '}')
}

func (it *Item) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"item_id":`...)
	dst = appendString(dst, it.ItemID)
	dst = append(dst, `,"score":`...)
	dst = appendFloat(dst, it.Score)
	if it.Title != "" {
		dst = append(dst, `,"title":`...)
		dst = appendString(dst, it.Title)
	}
	if it.Category != "" {
		dst = append(dst, `,"category":`...)
		dst = appendString(dst, it.Category)
	}
	if it.Brand != "" {
		dst = append(dst, `,"brand":`...)
		dst = appendString(dst, it.Brand)
	}
	if it.Price != 0 {
		dst = append(dst, `,"price":`...)
		dst = appendFloat(dst, it.Price)
	}
	dst = append(dst, `,"reasons":`...)
	if it.Reasons == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, '[')
		for i, r := range it.Reasons {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"code":`...)
			dst = appendString(dst, r.Code)
			dst = append(dst, `,"text":`...)
			dst = appendString(dst, r.Text)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// appendFloat formats f as encoding/json does (NaN and infinities, which
// it refuses, are written as null: the ranker produces neither).
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does without HTML escaping:
// invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
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
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
