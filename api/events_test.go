package api

import (
	"fmt"
	"testing"
)

func TestMissingIDsCountsAllAndNamesTwenty(t *testing.T) {
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprint("u", i), fmt.Sprint("u", i)) // each twice
	}
	missing, n := missingIDs(want, []string{"u0", "u1"})
	if n != 28 || len(missing) != 20 || missing[0] != "u2" {
		t.Errorf("missing %v (%d), n %d: want 28 counted once each, 20 named from u2", missing, len(missing), n)
	}
	if _, n := missingIDs([]string{"a"}, []string{"a"}); n != 0 {
		t.Errorf("n = %d for nothing missing", n)
	}
}

func TestIdempotencyKey(t *testing.T) {
	for _, tt := range []struct{ header, field, want string }{
		{"h", "", "h"}, {"", "f", "f"}, {"k", "k", "k"}, {" k ", "k", "k"},
	} {
		if got, err := idempotencyKey(tt.header, tt.field); err != nil || got != tt.want {
			t.Errorf("idempotencyKey(%q, %q) = %q, %v", tt.header, tt.field, got, err)
		}
	}
	if _, err := idempotencyKey("a", "b"); err == nil {
		t.Error("differing header and field accepted")
	}
	if a, _ := idempotencyKey("", ""); a == "" {
		t.Error("no key generated")
	}
}
