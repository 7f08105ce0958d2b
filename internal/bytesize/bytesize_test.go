package bytesize

import "testing"

func TestText(t *testing.T) {
	f := func(in string, want Size, out string) {
		t.Helper()
		var s Size
		if err := s.UnmarshalText([]byte(in)); err != nil || s != want {
			t.Fatalf("UnmarshalText(%q) = %d, %v; want %d", in, s, err, want)
		}
		if b, _ := s.MarshalText(); string(b) != out {
			t.Fatalf("MarshalText(%d) = %q, want %q", s, b, out)
		}
	}
	f("1024", 1024, "1KiB")
	f("1000", 1000, "1000")
	f("0", 0, "0")
	f("10B", 10, "10")
	f("2KiB", 2048, "2KiB")
	f("256MiB", 256<<20, "256MiB")
	f("1GiB", 1<<30, "1GiB")
	f("3072MiB", 3<<30, "3GiB")
	f(" 32MiB", 32<<20, "32MiB")
}

func TestBad(t *testing.T) {
	for _, bad := range []string{"", "MiB", "-1", "1.5GiB", "lots", "1TiB", "99999999999999999999GiB"} {
		var s Size
		if err := s.UnmarshalText([]byte(bad)); err == nil {
			t.Errorf("UnmarshalText(%q) accepted: %d", bad, s)
		}
	}
}
