// Package bytesize is a count of bytes written the way people write memory
// sizes: 1024, 10B, 2KiB, 256MiB, 1GiB. It parses and prints settings such
// as --cache-bytes and holds nothing else.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a number of bytes. Its text is a whole number, optionally with the
// unit B, KiB, MiB or GiB; it prints in the largest unit that divides it.
type Size int

// Units.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

var units = []struct {
	suffix string
	size   Size
}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}

// UnmarshalText reads a size such as "256MiB"; a bare number is bytes.
func (s *Size) UnmarshalText(b []byte) error {
	text := string(b)
	v, mult := text, Size(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSuffix(v, u.suffix), u.size
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 || Size(n) > Size(int(^uint(0)>>1))/mult {
		return fmt.Errorf("%q is not a size: want bytes, or a whole number of KiB, MiB or GiB", text)
	}
	*s = Size(n) * mult
	return nil
}

// MarshalText writes s in the largest unit that divides it: 256MiB, 1000.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s Size) String() string {
	if s != 0 {
		for _, u := range units[:3] {
			if s%u.size == 0 {
				return strconv.Itoa(int(s/u.size)) + u.suffix
			}
		}
	}
	return strconv.Itoa(int(s))
}
