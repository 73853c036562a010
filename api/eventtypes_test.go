package api

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/catalog"
)

// PUT /v1/event-types renders a tenant's templates in the request: a few
// bytes of nested ranges once allocated hundreds of megabytes a second, and
// larger ones took the process down. Each is a quick 422 now, at a bounded
// cost.
func TestRendersRefusesRunawayTemplatesQuickly(t *testing.T) {
	for _, tt := range []struct {
		name      string
		templates catalog.Templates
		bound     string
	}{
		// The 61 bytes of the report.
		{"61 bytes", catalog.Templates{Text: `{{range 3000}}{{range 3000}}{{printf "%09d" .}}{{end}}{{end}}`}, catalog.BoundRange},
		{"larger", catalog.Templates{Text: `{{range 1000000000}}{{range 1000000000}}{{range 1000000000}}` +
			strings.Repeat("x", 1000) + `{{end}}{{end}}{{end}}`}, catalog.BoundRange},
		{"computed", catalog.Templates{Text: "x", HTML: `{{range len (printf "%200000s" "x")}}{{end}}`}, catalog.BoundRange},
		{"output", catalog.Templates{Subject: `{{range 100}}{{printf "%010000d" 1}}{{end}}`, Text: "x"}, catalog.BoundOutput},
	} {
		t.Run(tt.name, func(t *testing.T) {
			typ := catalog.EventType{Key: "deploy.done", Category: "deploys", Title: "Deployed", Templates: tt.templates}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			err := renders(typ)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			var e *Error
			if !errors.As(err, &e) || e.Status != http.StatusUnprocessableEntity || e.Code != "invalid_template" {
				t.Fatalf("renders = %v, want 422 invalid_template", err)
			}
			if e.Details["bound"] != tt.bound || !strings.Contains(e.Message, "exceeded a bound") {
				t.Errorf("error = %s %v, want the %s bound named", e.Message, e.Details, tt.bound)
			}
			if took > 2*time.Second {
				t.Errorf("refusing took %v", took)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 96<<20 {
				t.Errorf("refusing allocated %d MiB", alloc>>20)
			}
		})
	}
	// A template of ordinary size renders as before.
	if err := renders(catalog.EventType{Key: "deploy.done", Title: "Deployed", Templates: catalog.Templates{
		Text: `{{range .data.items}}{{.}}{{end}}{{range 100}}{{end}}`}}); err != nil {
		t.Errorf("renders = %v", err)
	}
}

// A throttle's overflow is skip (also when left out) or digest; anything
// else is a 400 naming it.
func TestCheckThrottleOverflow(t *testing.T) {
	for _, tt := range []struct {
		in   catalog.Overflow
		want catalog.Overflow
		code string
	}{
		{"", catalog.OverflowSkip, ""},
		{catalog.OverflowSkip, catalog.OverflowSkip, ""},
		{catalog.OverflowDigest, catalog.OverflowDigest, ""},
		{"queue", "queue", "invalid_field"},
	} {
		th := catalog.Throttle{Max: 2, Per: "1h", Overflow: tt.in}
		err := checkThrottle(&th)
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("overflow %q: %v", tt.in, err)
		case tt.code != "" && (err == nil || err.(*Error).Code != tt.code || err.(*Error).Details["field"] != "throttle.overflow"):
			t.Errorf("overflow %q: %v, want %s on throttle.overflow", tt.in, err, tt.code)
		case th.Overflow != tt.want:
			t.Errorf("overflow %q stored as %q, want %q", tt.in, th.Overflow, tt.want)
		}
	}
}
