package stream

import (
	"fmt"
	"strconv"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stickyhq/sticky/features"
)

// This file holds a hand-written decoder and encoder of wireEvent, the JSON
// form of an event. The decoder is a single pass over the bytes that decides
// exactly as encoding/json.Unmarshal into wireEvent does (the fuzz test
// FuzzDecodeEventEquivalence holds it to that):
//
//   - a syntax error anywhere wins over any type error, and is reported
//     with encoding/json's message and offset;
//   - otherwise the first type error in document order is reported, naming
//     the field as encoding/json does ("context.device", "items");
//   - keys match exactly first, then case-insensitively with encoding/json's
//     folding (so "USER_ID" and "uſer_id" are user_id); a later duplicate
//     overwrites an earlier one; null leaves a string, number or the context
//     untouched and sets items to nil; unknown keys are skipped, whatever
//     their value;
//   - strings are unquoted as encoding/json does: escapes, surrogate pairs,
//     U+FFFD for a lone surrogate or a byte of invalid UTF-8.
//
// Each string the event keeps is its own allocation, not a substring of the
// record: user and item ids become long-lived keys (item statistics, the
// ranker's index), and must not pin the record's bytes.

// Fields of wireEvent and of its context, and the two pseudo-targets: the
// whole event (fTop) and an element of items (fItem).
const (
	fSkip = iota // an unknown key: the value is only checked
	fEventID
	fUserID
	fType
	fItemID
	fItems
	fRequestID
	fCampaignID
	fQuery
	fTS
	fPrice
	fQuantity
	fContext
	fDevice
	fRegion
	fTZ
	fPage
	fTop
	fItem
)

// fieldPath is the field a type error names, as encoding/json's
// UnmarshalTypeError.Field does ("body" where it has none); fieldKind is
// the JSON kind the field wants, as jsonFieldError words it.
var (
	fieldPath = [...]string{
		fEventID: "event_id", fUserID: "user_id", fType: "type", fItemID: "item_id", fItems: "items",
		fRequestID: "request_id", fCampaignID: "campaign_id", fQuery: "query", fTS: "ts",
		fPrice: "price", fQuantity: "quantity", fContext: "context",
		fDevice: "context.device", fRegion: "context.region", fTZ: "context.tz", fPage: "context.page",
		fTop: "body", fItem: "items",
	}
	fieldKind = [...]string{
		fEventID: "string", fUserID: "string", fType: "string", fItemID: "string", fItems: "array",
		fRequestID: "string", fCampaignID: "string", fQuery: "string", fTS: "string",
		fPrice: "number", fQuantity: "number", fContext: "object",
		fDevice: "string", fRegion: "string", fTZ: "string", fPage: "string",
		fTop: "object", fItem: "string",
	}
)

// maxNestingDepth is encoding/json's limit on nested objects and arrays.
const maxNestingDepth = 10000

// eventScanner decodes one event. Its methods take the index of the value
// or token to read and return the index after it, or -1 after a syntax
// error (recorded in syn).
type eventScanner struct {
	b     []byte
	depth int
	syn   *features.FieldError // the syntax error, if any
	typ   *features.FieldError // the first type error, if any

	// The decoded fields. typ and ts are only needed while decoding, so
	// they stay bytes (of b, or unquoted).
	eventID, userID, itemID, requestID, campaignID, query string
	typeName, ts                                          []byte
	items                                                 []string
	price, quantity                                       float64
	ctx                                                   features.Context

	kbuf [64]byte // an unquoted key
}

// decodeWire decodes b into s's fields. The error is the one
// jsonFieldError would make of json.Unmarshal's error.
func (s *eventScanner) decodeWire(b []byte) *features.FieldError {
	s.b = b
	i := s.ws(0)
	if i = s.value(i, fTop); i >= 0 {
		if i = s.ws(i); i < len(b) {
			s.fail(i, "after top-level value")
		}
	}
	if s.syn != nil {
		return s.syn
	}
	return s.typ
}

func (s *eventScanner) ws(i int) int {
	for i < len(s.b) {
		switch s.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	return i
}

// fail records the syntax error encoding/json's scanner reports at byte i:
// at the end of the input, the scanner reports the space it feeds itself
// there.
func (s *eventScanner) fail(i int, context string) int {
	if i >= len(s.b) {
		return s.syntax(len(s.b), "invalid character ' ' "+context)
	}
	return s.syntax(i+1, "invalid character "+quoteChar(s.b[i])+" "+context)
}

// eof records the error of input that ends where a value or a token could
// still follow.
func (s *eventScanner) eof() int {
	return s.syntax(len(s.b), "unexpected end of JSON input")
}

func (s *eventScanner) syntax(offset int, msg string) int {
	s.syn = &features.FieldError{Field: "body", Reason: fmt.Sprintf("is not valid JSON (at byte %d): %s", offset, msg)}
	return -1
}

// mismatch records a type error (only the first counts), as
// jsonFieldError words an UnmarshalTypeError.
func (s *eventScanner) mismatch(f int, value string) {
	if s.typ == nil {
		s.typ = &features.FieldError{Field: fieldPath[f], Reason: "must be a JSON " + fieldKind[f] + ", not " + value}
	}
}

// value decodes the value at i into field f.
func (s *eventScanner) value(i, f int) int {
	if i >= len(s.b) {
		return s.eof()
	}
	switch c := s.b[i]; c {
	case '"':
		j, esc := s.str(i)
		if j >= 0 && f != fSkip {
			s.setString(f, s.b[i+1:j-1], esc)
		}
		return j
	case '{':
		switch f {
		case fTop, fContext, fSkip:
			return s.object(i, f)
		}
		s.mismatch(f, "object")
		return s.object(i, fSkip)
	case '[':
		if f == fItems {
			return s.array(i)
		}
		if f != fSkip {
			s.mismatch(f, "array")
		}
		return s.skipArray(i)
	case 't':
		j := s.lit(i, "true")
		if j >= 0 && f != fSkip {
			s.mismatch(f, "bool")
		}
		return j
	case 'f':
		j := s.lit(i, "false")
		if j >= 0 && f != fSkip {
			s.mismatch(f, "bool")
		}
		return j
	case 'n':
		j := s.lit(i, "null")
		if j >= 0 && f == fItems {
			s.items = nil
		}
		return j
	default:
		if c != '-' && (c < '0' || c > '9') {
			return s.fail(i, "looking for beginning of value")
		}
		j := s.num(i)
		if j < 0 || f == fSkip {
			return j
		}
		if f != fPrice && f != fQuantity {
			s.mismatch(f, "number")
			return j
		}
		v, err := strconv.ParseFloat(string(s.b[i:j]), 64)
		if err != nil {
			s.mismatch(f, "number "+string(s.b[i:j]))
			return j
		}
		if f == fPrice {
			s.price = v
		} else {
			s.quantity = v
		}
		return j
	}
}

// setString stores the string whose quoted bytes are raw into f.
func (s *eventScanner) setString(f int, raw []byte, esc bool) {
	switch f {
	case fType:
		s.typeName = unquoteBytes(raw, esc)
		return
	case fTS:
		s.ts = unquoteBytes(raw, esc)
		return
	case fTop, fContext, fItems, fPrice, fQuantity:
		s.mismatch(f, "string")
		return
	}
	v := unquoteString(raw, esc)
	switch f {
	case fEventID:
		s.eventID = v
	case fUserID:
		s.userID = v
	case fItemID:
		s.itemID = v
	case fRequestID:
		s.requestID = v
	case fCampaignID:
		s.campaignID = v
	case fQuery:
		s.query = v
	case fDevice:
		s.ctx.Device = v
	case fRegion:
		s.ctx.Region = v
	case fTZ:
		s.ctx.TZ = v
	case fPage:
		s.ctx.Page = v
	}
}

// object decodes the object at i into the event (fTop), its context
// (fContext), or nowhere (fSkip).
func (s *eventScanner) object(i, f int) int {
	if s.depth++; s.depth > maxNestingDepth {
		return s.fail(i, "exceeded max depth")
	}
	b := s.b
	i = s.ws(i + 1)
	if i < len(b) && b[i] == '}' {
		s.depth--
		return i + 1
	}
	for {
		if i >= len(b) {
			return s.eof()
		}
		if b[i] != '"' {
			return s.fail(i, "looking for beginning of object key string")
		}
		j, esc := s.str(i)
		if j < 0 {
			return -1
		}
		field := fSkip
		if f != fSkip {
			field = s.field(b[i+1:j-1], esc, f == fContext)
		}
		if i = s.ws(j); i >= len(b) {
			return s.eof()
		}
		if b[i] != ':' {
			return s.fail(i, "after object key")
		}
		if i = s.value(s.ws(i+1), field); i < 0 {
			return -1
		}
		if i = s.ws(i); i >= len(b) {
			return s.eof()
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
			continue
		case '}':
			s.depth--
			return i + 1
		}
		return s.fail(i, "after object key:value pair")
	}
}

// field returns the field the key whose quoted bytes are raw names: an
// exact match first, then encoding/json's case folding.
func (s *eventScanner) field(raw []byte, esc, ctx bool) int {
	key := raw
	if esc {
		key = appendUnquoted(s.kbuf[:0], raw)
	}
	if ctx {
		switch string(key) {
		case "device":
			return fDevice
		case "region":
			return fRegion
		case "tz":
			return fTZ
		case "page":
			return fPage
		}
	} else {
		switch string(key) {
		case "event_id":
			return fEventID
		case "user_id":
			return fUserID
		case "type":
			return fType
		case "item_id":
			return fItemID
		case "items":
			return fItems
		case "request_id":
			return fRequestID
		case "campaign_id":
			return fCampaignID
		case "query":
			return fQuery
		case "ts":
			return fTS
		case "price":
			return fPrice
		case "quantity":
			return fQuantity
		case "context":
			return fContext
		}
	}
	if len(key) > 3*len("campaign_id") {
		return fSkip // folding never shortens a key by more than that
	}
	var fb [32]byte
	folded := appendFoldedName(fb[:0], key)
	if ctx {
		switch string(folded) {
		case "DEVICE":
			return fDevice
		case "REGION":
			return fRegion
		case "TZ":
			return fTZ
		case "PAGE":
			return fPage
		}
		return fSkip
	}
	switch string(folded) {
	case "EVENT_ID":
		return fEventID
	case "USER_ID":
		return fUserID
	case "TYPE":
		return fType
	case "ITEM_ID":
		return fItemID
	case "ITEMS":
		return fItems
	case "REQUEST_ID":
		return fRequestID
	case "CAMPAIGN_ID":
		return fCampaignID
	case "QUERY":
		return fQuery
	case "TS":
		return fTS
	case "PRICE":
		return fPrice
	case "QUANTITY":
		return fQuantity
	case "CONTEXT":
		return fContext
	}
	return fSkip
}

// array decodes the array at i into items, as encoding/json decodes into
// a slice: it reuses the slice a duplicate key left (a null element leaves
// what is there), truncates it to the elements read, and makes [] an empty,
// non-nil slice.
func (s *eventScanner) array(i int) int {
	if s.depth++; s.depth > maxNestingDepth {
		return s.fail(i, "exceeded max depth")
	}
	b := s.b
	i = s.ws(i + 1)
	if i < len(b) && b[i] == ']' {
		s.depth--
		s.items = []string{}
		return i + 1
	}
	items := s.items
	n := 0
	for {
		if n >= cap(items) {
			grown := make([]string, n+1, max(4, 2*cap(items)))
			copy(grown, items)
			items = grown
		}
		if n >= len(items) {
			items = items[:n+1]
		}
		if i >= len(b) {
			return s.eof()
		}
		if b[i] == '"' {
			j, esc := s.str(i)
			if j < 0 {
				return -1
			}
			items[n] = unquoteString(b[i+1:j-1], esc)
			i = j
		} else if i = s.value(i, fItem); i < 0 {
			return -1
		}
		n++
		if i = s.ws(i); i >= len(b) {
			return s.eof()
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
			continue
		case ']':
			s.depth--
			s.items = items[:n]
			return i + 1
		}
		return s.fail(i, "after array element")
	}
}

// skipArray checks the array at i.
func (s *eventScanner) skipArray(i int) int {
	if s.depth++; s.depth > maxNestingDepth {
		return s.fail(i, "exceeded max depth")
	}
	b := s.b
	i = s.ws(i + 1)
	if i < len(b) && b[i] == ']' {
		s.depth--
		return i + 1
	}
	for {
		if i = s.value(i, fSkip); i < 0 {
			return -1
		}
		if i = s.ws(i); i >= len(b) {
			return s.eof()
		}
		switch b[i] {
		case ',':
			i = s.ws(i + 1)
			continue
		case ']':
			s.depth--
			return i + 1
		}
		return s.fail(i, "after array element")
	}
}

// plainByte: bytes a string holds as they are (no quote, backslash,
// control byte, or byte of a multi-byte sequence).
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str checks the string at i and returns the index after it; esc reports
// whether it needs unquoting (an escape or a byte of 0x80 or more).
func (s *eventScanner) str(i int) (int, bool) {
	b := s.b
	esc := false
	j := i + 1
	for {
		for j < len(b) && plainByte[b[j]] {
			j++
		}
		if j >= len(b) {
			return s.eof(), esc
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, esc
		case c == '\\':
			esc = true
			j++
			if j >= len(b) {
				return s.fail(j, "in string escape code"), esc
			}
			switch b[j] {
			case 'b', 'f', 'n', 'r', 't', '\\', '/', '"':
				j++
			case 'u':
				for k := 0; k < 4; k++ {
					if j++; j >= len(b) || !isHex(b[j]) {
						return s.fail(j, `in \u hexadecimal character escape`), esc
					}
				}
				j++
			default:
				return s.fail(j, "in string escape code"), esc
			}
		case c < 0x20:
			return s.fail(j, "in string literal"), esc
		default:
			esc = true
			j++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// lit checks the literal word (true, false, null) at i.
func (s *eventScanner) lit(i int, word string) int {
	for k := 1; k < len(word); k++ {
		if i+k >= len(s.b) || s.b[i+k] != word[k] {
			return s.fail(i+k, "in literal "+word+" (expecting "+quoteChar(word[k])+")")
		}
	}
	return i + len(word)
}

// num checks the number at i.
func (s *eventScanner) num(i int) int {
	b := s.b
	j := i
	if b[j] == '-' {
		if j++; j >= len(b) || b[j] < '0' || b[j] > '9' {
			return s.fail(j, "in numeric literal")
		}
	}
	if b[j] == '0' {
		j++
	} else {
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && b[j] == '.' {
		if j++; j >= len(b) || b[j] < '0' || b[j] > '9' {
			return s.fail(j, "after decimal point in numeric literal")
		}
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if j >= len(b) || b[j] < '0' || b[j] > '9' {
			return s.fail(j, "in exponent of numeric literal")
		}
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
	}
	return j
}

// unquoteString is the string the quoted bytes raw (checked by str) stand
// for, in a new allocation.
func unquoteString(raw []byte, esc bool) string {
	if !esc {
		return string(raw)
	}
	var buf [128]byte
	return string(appendUnquoted(buf[:0], raw))
}

// unquoteBytes is unquoteString for transient values: raw itself when it
// needs no unquoting.
func unquoteBytes(raw []byte, esc bool) []byte {
	if !esc {
		return raw
	}
	return appendUnquoted(nil, raw)
}

// appendUnquoted appends what the quoted bytes s (checked by str) stand
// for, as encoding/json's unquoteBytes decodes them.
func appendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := getu4(s[r-1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if dec := utf16.DecodeRune(rr, getu4(s[r:])); dec != unicode.ReplacementChar {
						dst = utf8.AppendRune(dst, dec)
						r += 6
						continue
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			dst = utf8.AppendRune(dst, rr)
			r += size
		}
	}
	return dst
}

// getu4 decodes \uXXXX at the start of s, or returns -1.
func getu4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c = c - '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendFoldedName is encoding/json's key folding: ASCII upper case, and
// every other rune the smallest of its fold set.
func appendFoldedName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		for {
			r2 := unicode.SimpleFold(r)
			if r2 <= r {
				r = r2
				break
			}
			r = r2
		}
		out = utf8.AppendRune(out, r)
		i += n
	}
	return out
}

// quoteChar is how encoding/json's scanner quotes a byte in its messages.
func quoteChar(c byte) string {
	if c == '\'' {
		return `'\''`
	}
	if c == '"' {
		return `'"'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// typeByName maps wire names to types, as features.ParseType does.
var typeByName = func() map[string]features.Type {
	m := map[string]features.Type{}
	for _, t := range features.Types() {
		m[t.String()] = t
	}
	return m
}()

// parseTS parses ts as time.Parse(time.RFC3339Nano, ts) does. The usual
// form, UTC with "Z", is parsed here without allocating; any other goes to
// time.Parse.
func parseTS(ts []byte) (time.Time, error) {
	if t, ok := parseUTC(ts); ok {
		return t, nil
	}
	return time.Parse(time.RFC3339Nano, string(ts))
}

// parseUTC parses "2006-01-02T15:04:05[.frac]Z" as time.Parse's RFC 3339
// fast path does; ok is false for anything else (which time.Parse may
// still accept).
func parseUTC(s []byte) (t time.Time, ok bool) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[len(s)-1] != 'Z' ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	ok = true
	num := func(b []byte, lo, hi int) int {
		x := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				ok = false
				return lo
			}
			x = x*10 + int(c-'0')
		}
		if x < lo || x > hi {
			ok = false
		}
		return x
	}
	year := num(s[0:4], 0, 9999)
	month := num(s[5:7], 1, 12)
	hour := num(s[11:13], 0, 23)
	minute := num(s[14:16], 0, 59)
	sec := num(s[17:19], 0, 59)
	if !ok {
		return time.Time{}, false
	}
	day := num(s[8:10], 1, daysIn(month, year))
	if !ok {
		return time.Time{}, false
	}
	rest := s[19 : len(s)-1]
	nsec := 0
	if len(rest) > 0 {
		// A fraction: '.' and digits, of which the first nine count.
		if len(rest) < 2 || rest[0] != '.' {
			return time.Time{}, false
		}
		digits := 0
		for _, c := range rest[1:] {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			if digits < 9 {
				nsec = nsec*10 + int(c-'0')
				digits++
			}
		}
		for ; digits < 9; digits++ {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
