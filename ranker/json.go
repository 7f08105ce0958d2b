package ranker

import (
	"strconv"

	"github.com/stickyhq/sticky/internal/jsonw"
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
	if d, ok := jsonw.Float(dst, f); ok {
		return d
	}
	return append(dst, "null"...)
}

// appendString quotes s as encoding/json does without HTML escaping:
// invalid UTF-8 becomes U+FFFD, U+2028 and U+2029 are escaped.
func appendString(dst []byte, s string) []byte { return jsonw.String(dst, s, false) }
