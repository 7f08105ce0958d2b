package features

import (
	"fmt"
	"testing"
)

// TestCtxCategory: the parsers read back what the key builders write, and
// nothing else.
func TestCtxCategory(t *testing.T) {
	if c, ok := CtxDaypartCategory(CtxDaypartKey(Morning, "Baby|Toys"), Morning); !ok || c != "Baby|Toys" {
		t.Errorf("daypart key: %q %v", c, ok)
	}
	if _, ok := CtxDaypartCategory(CtxDaypartKey(Evening, "Baby"), Morning); ok {
		t.Error("another daypart's key read as this one's")
	}
	if c, ok := CtxDeviceCategory(CtxDeviceKey("mobile", "Books"), "mobile"); !ok || c != "Books" {
		t.Errorf("device key: %q %v", c, ok)
	}
	for _, k := range []string{CtxDeviceKey("mobiles", "Books"), CtxDaypartKey(Morning, "Books"), "v:mob", ""} {
		if _, ok := CtxDeviceCategory(k, "mobile"); ok {
			t.Errorf("%q read as a mobile key", k)
		}
	}
}

// TestBucketNames: shared names equal the built ones, for the regions
// cached and for those past the cache's bound.
func TestBucketNames(t *testing.T) {
	for i := 0; i < maxBucketRegions+100; i++ {
		region := fmt.Sprint("R-", i%(maxBucketRegions+50))
		for d := Night; d <= Evening; d++ {
			if got, want := Bucket(region, d), region+"|"+d.String(); got != want {
				t.Fatalf("Bucket(%q, %v) = %q, want %q", region, d, got, want)
			}
		}
	}
	if got := Bucket("", Evening); got != "*|evening" {
		t.Fatalf(`Bucket("", evening) = %q`, got)
	}
}
