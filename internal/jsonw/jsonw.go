// Package jsonw writes JSON values byte for byte as encoding/json writes
// them, for the hot paths that write JSON by hand: recommendation responses
// (ranker.Response.AppendJSON) and events (stream.AppendEvent). Their tests
// and fuzz tests hold each caller's output equal to encoding/json's.
package jsonw

import (
	"math"
	"strconv"
	"unicode/utf8"
)

// Float appends f as encoding/json writes a float64: the shortest form that
// reads back the same, in exponent form below 1e-6 and from 1e21 (with a
// one-digit negative exponent as "e-7", not "e-07"). encoding/json refuses
// NaN and infinities: for those Float appends nothing and returns false,
// and the caller decides.
func Float(dst []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, false
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
	return dst, true
}

// safe[html][b]: the ASCII bytes encoding/json writes as they are, with
// and without HTML escaping (json.Marshal escapes <, > and &; an Encoder
// with SetEscapeHTML(false) does not).
var safe = func() (t [2][utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[0][c] = c != '"' && c != '\\'
		t[1][c] = t[0][c] && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const hex = "0123456789abcdef"

// String appends s quoted as encoding/json writes a string: invalid UTF-8
// as U+FFFD, U+2028 and U+2029 escaped, and with html, <, > and & escaped
// as json.Marshal does.
func String[S []byte | string](dst []byte, s S, html bool) []byte {
	ok := &safe[0]
	if html {
		ok = &safe[1]
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if ok[b] {
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
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		n := min(len(s)-i, utf8.UTFMax)
		c, size := utf8.DecodeRuneInString(string(s[i : i+n]))
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
