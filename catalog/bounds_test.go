package catalog

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// runawayLimits are what a refused render may cost: far below what the
// templates below would take unbounded (gigabytes, or forever).
const (
	runawayTime  = 2 * time.Second // generous: -race on two shared cores
	runawayAlloc = 96 << 20
)

// clockMu serialises the tests that measure allocation or move the clock:
// other tests' allocations would count against the bound.
var clockMu sync.Mutex

// renderBounded renders typ's email once for data and reports the error,
// failing t when the render took too long or allocated too much.
func renderBounded(t *testing.T, typ EventType, data map[string]any) error {
	t.Helper()
	clockMu.Lock()
	defer clockMu.Unlock()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	r, err := NewRenderer(typ)
	if err == nil {
		_, err = r.Email(data, Recipient{ID: "u1", Name: "Ada", Email: "ada@example.com"}, "https://example.com")
	}
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if took > runawayTime {
		t.Errorf("the render took %v (at most %v)", took, runawayTime)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > runawayAlloc {
		t.Errorf("the render allocated %d MiB (at most %d MiB)", alloc>>20, runawayAlloc>>20)
	}
	return err
}

func textType(text string) EventType {
	return EventType{Key: "deploy.done", Title: "Deployed", Templates: Templates{Text: text}}
}

func TestRunawayTemplatesExceedABound(t *testing.T) {
	long := make([]any, 2000)
	for i := range long {
		long[i] = i
	}
	tests := []struct {
		name  string
		typ   EventType
		data  map[string]any
		bound string
	}{
		// 61 bytes that allocated ~258 MB a second, unbounded.
		{"nested integer ranges", textType(`{{range 3000}}{{range 3000}}{{printf "%09d" .}}{{end}}{{end}}`), nil, BoundRange},
		{"deeper integer ranges that write nothing", textType(`{{range 100000}}{{range 100000}}{{range 100000}}{{end}}{{end}}{{end}}`), nil, BoundRange},
		{"a range over a computed integer", textType(`{{range len (printf "%200000d" 1)}}{{end}}`), nil, BoundRange},
		{"nested ranges over the event's data", textType(`{{range .data.l}}{{range $.data.l}}{{range $.data.l}}{{end}}{{end}}{{end}}`),
			map[string]any{"l": long}, BoundRange},
		{"a range that writes too much", textType(`{{range .data.l}}{{$.data.s}}{{end}}`),
			map[string]any{"l": long, "s": strings.Repeat("x", 200)}, BoundOutput},
		{"the subject", EventType{Key: "deploy.done", Templates: Templates{Subject: `{{range 9000}}{{printf "%100d" .}}{{end}}`, Text: "x"}}, nil, BoundOutput},
		{"the HTML part", EventType{Key: "deploy.done", Templates: Templates{Text: "x", HTML: `<p>{{range 9000}}{{printf "%100d" .}}{{end}}</p>`}}, nil, BoundOutput},
		{"a string doubled in a variable, written nowhere", textType(`{{$x := printf "%1000000d" 1}}` +
			strings.Repeat(`{{$x = printf "%s%s" $x $x}}`, 40)), nil, BoundOutput},
		{"a string built without output", textType(`{{$x := printf "%200000d" 1}}{{range 9000}}{{$y := printf "%s" $x}}{{end}}`), nil, BoundWork},
		{"escapers nested until they blow up", textType(strings.Repeat("{{$x := js ", 1) + strings.Repeat("(js ", 40) + `"\\"` +
			strings.Repeat(")", 40) + "}}"), nil, BoundOutput},
		{"printf with many wide verbs", textType(`{{printf "` + strings.Repeat("%1000000d", 3000) + `" 1}}`), nil, BoundWork},
		{"html doubling a variable in an HTML template", EventType{Key: "deploy.done", Templates: Templates{Text: "x",
			HTML: `{{$x := "a"}}` + strings.Repeat(`{{$x = html $x $x}}`, 40) + strings.Repeat(`{{$x = urlquery $x $x}}`, 40)}}, nil, BoundOutput},
		{"a range in an HTML template", EventType{Key: "deploy.done", Templates: Templates{Text: "x",
			HTML: `<script>var x = [{{range 100000}}{{range 100000}}{{end}}{{end}}];</script>`}}, nil, BoundRange},
	}
	// Time stands still: these are the bounds that do not depend on the
	// machine (TestRenderTimeIsBounded moves the clock).
	clockMu.Lock()
	frozen := time.Now()
	clock = func() time.Time { return frozen }
	clockMu.Unlock()
	defer func() { clockMu.Lock(); clock = time.Now; clockMu.Unlock() }()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := renderBounded(t, tt.typ, tt.data)
			var bound *BoundError
			if !errors.As(err, &bound) || !errors.Is(err, ErrBound) {
				t.Fatalf("err = %v, want a bound exceeded", err)
			}
			if bound.Bound != tt.bound {
				t.Errorf("bound = %s (%v), want %s", bound.Bound, err, tt.bound)
			}
			if !strings.Contains(err.Error(), "exceeded a bound") || strings.Contains(err.Error(), budgetVar) {
				t.Errorf("error %q does not say plainly which bound", err)
			}
		})
	}
}

func TestRenderTimeIsBounded(t *testing.T) {
	clockMu.Lock()
	defer clockMu.Unlock()
	defer func() { clock = time.Now }()
	// step makes every look at the clock find step gone, after the first
	// jump looks.
	var mu sync.Mutex
	var looks int
	now := time.Now()
	step := func(step time.Duration, jumps ...int) func() time.Time {
		looks = 0
		return func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			looks++
			if slices.Contains(jumps, looks) {
				now = now.Add(250 * time.Millisecond)
			}
			now = now.Add(step)
			return now
		}
	}
	// A millisecond a look: each render runs out of time after a hundred
	// looks, and its next tries after two and four hundred, long before any other bound. A range
	// that writes nothing and calls nothing still looks at the clock.
	for _, text := range []string{`{{range 5000}}{{end}}`, `{{range 5000}}{{if eq 1 2}}x{{end}}{{end}}`, `{{range 9000}}{{count 1}}{{end}}`} {
		clock = step(time.Millisecond)
		r, err := NewRenderer(textType(text))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Notice(nil, Recipient{}, "")
		var bound *BoundError
		if !errors.As(err, &bound) || bound.Bound != BoundTime {
			t.Errorf("%s: err = %v, want the time bound", text, err)
		}
		if looks < 100+200+400 {
			t.Errorf("%s: stopped after %d looks at the clock: it was not tried three times, each with twice the time", text, looks)
		}
	}
	// The process pauses (the clock jumps 250 ms at the fifth look), and
	// again in the second try: the render runs out of time twice, is tried
	// again with 400 ms, and succeeds.
	r, err := NewRenderer(textType(`{{range 20}}{{.}}{{end}}`))
	if err != nil {
		t.Fatal(err)
	}
	clock = step(time.Microsecond, 5, 8)
	if c, err := r.Email(nil, Recipient{}, ""); err != nil || c.Body != "012345678910111213141516171819" {
		t.Errorf("Email = %q, %v", c.Body, err)
	}
	clock = step(time.Microsecond, 5, 8)
	if c, err := r.Notice(nil, Recipient{}, ""); err != nil || c.Body != "012345678910111213141516171819" {
		t.Errorf("Notice = %q, %v", c.Body, err)
	}
}

func TestBoundsLeaveOrdinaryTemplatesAlone(t *testing.T) {
	// Time stands still: 10,000 range items may take longer than a render's
	// time under the race detector on a loaded machine.
	clockMu.Lock()
	defer clockMu.Unlock()
	frozen := time.Now()
	clock = func() time.Time { return frozen }
	defer func() { clock = time.Now }()
	list := make([]any, 3000)
	for i := range list {
		list[i] = "row"
	}
	r, err := NewRenderer(textType(`{{range .data.l}}{{.}} {{end}}{{range 4000}}{{end}}{{len .data.l}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	c, err := r.Notice(map[string]any{"l": list}, Recipient{}, "")
	if err != nil || !strings.HasSuffix(c.Body, "row 3000") {
		t.Fatalf("Notice = %.40q…, %v", c.Body, err)
	}
	// Up to the bound of each: 10,000 range items in all, 256 KiB a part.
	r, err = NewRenderer(textType(`{{range 5000}}{{end}}{{range 5000}}{{end}}{{printf "%0262144d" 1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c, err := r.Notice(nil, Recipient{}, ""); err != nil || len(c.Body) != MaxPartBytes {
		t.Errorf("Notice = %d bytes, %v", len(c.Body), err)
	}
	r, err = NewRenderer(textType(`{{range 5000}}{{end}}{{range 5001}}{{end}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Notice(nil, Recipient{}, ""); !errors.Is(err, ErrBound) {
		t.Errorf("10,001 range items: err = %v", err)
	}
}

func TestCheckRefusesLiteralRanges(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text string
		ok   bool
	}{
		{`{{range 3000}}{{range 3000}}x{{end}}{{end}}`, false},
		{`{{range 6000}}{{end}}{{range 6000}}{{end}}`, false},
		{`{{range 10001}}{{end}}`, false},
		{`{{if .data.x}}{{range 6000}}{{end}}{{else}}{{range 6000}}{{end}}{{end}}`, true},
		{`{{range 99}}{{range 100}}{{end}}{{end}}`, true},
		{`{{range .data.l}}{{range .}}{{end}}{{end}}`, true},
	} {
		r, err := NewRenderer(textType(tt.text))
		if err != nil {
			t.Fatal(err)
		}
		err = r.Check()
		if (err == nil) != tt.ok {
			t.Errorf("Check(%s) = %v", tt.text, err)
		}
		if err != nil && (!errors.Is(err, ErrBound) || !strings.Contains(err.Error(), "items whatever the data")) {
			t.Errorf("Check(%s) = %v, want the range bound", tt.text, err)
		}
	}
}

func TestTemplateCallsAreRefused(t *testing.T) {
	t.Parallel()
	for _, text := range []string{
		`{{define "a"}}x{{end}}y`,
		`{{block "a" .}}x{{end}}`,
		`{{define "a0"}}{{template "a1"}}{{template "a1"}}{{end}}{{template "a0"}}`,
		`{{if 1}}{{template "text"}}{{end}}`,
	} {
		if _, err := NewRenderer(textType(text)); err == nil || !strings.Contains(err.Error(), "cannot define or call other templates") {
			t.Errorf("NewRenderer(%s) = %v", text, err)
		}
		if _, err := NewRenderer(EventType{Templates: Templates{Text: "x", HTML: text}}); err == nil {
			t.Errorf("NewRenderer(html %s) = nil error", text)
		}
	}
}
