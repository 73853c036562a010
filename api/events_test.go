package api

import "testing"

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
}
