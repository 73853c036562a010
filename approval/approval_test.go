package approval

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"24h": 24 * time.Hour, "90m": 90 * time.Minute, "7d": 7 * 24 * time.Hour, "2h30m": 150 * time.Minute} {
		if got, err := ParseDuration(in); err != nil || got != want {
			t.Errorf("%q = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "soon", "d", "-1d", "1.5d", "07d", "24"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestKeyFitsAnIdempotencyKey(t *testing.T) {
	if k := Key("po-1", Reminded, 2, 3, "ada"); k != "approval:po-1:reminded:2:3:ada" {
		t.Errorf("key %q", k)
	}
	long := strings.Repeat("i", 200)
	a, b := Key(long, Asked, 1, 0, strings.Repeat("u", 100)), Key(long, Asked, 1, 0, strings.Repeat("u", 99)+"v")
	if len(a) > maxKey || a == b {
		t.Errorf("long keys %q, %q: must fit %d characters and stay distinct", a, b, maxKey)
	}
}
