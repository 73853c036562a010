package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/lru"
)

func rule(t *testing.T, name string) Rule {
	t.Helper()
	for _, r := range BuiltIn {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no built-in rule %s", name)
	return Rule{}
}

func data(t *testing.T, raw string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber() // as event data is decoded
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// Every boundary of the built-in rules.
func TestBuiltInThresholds(t *testing.T) {
	for _, r := range BuiltIn {
		if err := Validate(r); err != nil {
			t.Fatalf("%s: %v", r.Name, err)
		}
	}
	cases := []struct {
		rule, data, tenant string
		fires              bool
	}{
		{"bounce_rate", `{"campaign_id":"c","sent":9,"bounced":9}`, `{}`, false},    // 9 sent is too few
		{"bounce_rate", `{"campaign_id":"c","sent":10,"bounced":1}`, `{}`, true},    // 10 sent, 10 %
		{"bounce_rate", `{"campaign_id":"c","sent":100,"bounced":5}`, `{}`, false},  // exactly 5 %
		{"bounce_rate", `{"campaign_id":"c","sent":1000,"bounced":51}`, `{}`, true}, // just above
		{"bounce_rate", `{"campaign_id":"c","sent":10}`, `{}`, false},               // bounced missing
		{"lead_threshold", `{"lead_id":"l","score":59}`, `{"lead_threshold":60}`, false},
		{"lead_threshold", `{"lead_id":"l","score":60}`, `{"lead_threshold":60}`, true},
		{"lead_threshold", `{"lead_id":"l","score":60}`, `{"lead_threshold":75}`, false}, // the tenant's own threshold
		{"lead_threshold", `{"lead_id":"l","score":75.5}`, `{"lead_threshold":75}`, true},
		{"usage_80", `{"metric":"emails","period":"2026-11","used":239,"limit":300}`, `{}`, false},
		{"usage_80", `{"metric":"emails","period":"2026-11","used":240,"limit":300}`, `{}`, true},
		{"usage_100", `{"metric":"emails","period":"2026-11","used":299,"limit":300}`, `{}`, false},
		{"usage_100", `{"metric":"emails","period":"2026-11","used":300,"limit":300}`, `{}`, true},
	}
	for _, c := range cases {
		r := rule(t, c.rule)
		p, err := Compile(r.When)
		if err != nil {
			t.Fatal(err)
		}
		got, err := p.Eval(data(t, c.data), data(t, c.tenant))
		if err != nil {
			t.Fatalf("%s %s: %v", c.rule, c.data, err)
		}
		if got != c.fires {
			t.Errorf("%s with %s (tenant %s): fires %v, want %v", c.rule, c.data, c.tenant, got, c.fires)
		}
	}
}

// Usage alerts fire once per metric and period: a new billing period is a
// new key, so it fires again.
func TestKeysRearmPerPeriod(t *testing.T) {
	r := rule(t, "usage_80")
	a, err := KeyOf(r, data(t, `{"metric":"emails","period":"2026-11","used":1}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := KeyOf(r, data(t, `{"metric":"emails","period":"2026-12","used":1}`))
	same, _ := KeyOf(r, data(t, `{"metric":"emails","period":"2026-11","used":2}`))
	if a == b || a != same {
		t.Fatalf("keys %q %q %q", a, b, same)
	}
	if _, err := KeyOf(r, data(t, `{"metric":"emails"}`)); err == nil {
		t.Fatal("a missing key field was accepted")
	}
}

func TestConnectionTransitions(t *testing.T) {
	r := rule(t, "connection_transition")
	cases := []struct {
		last string
		seen bool
		now  string
		want string
	}{
		{"", false, "ok", ""}, // the first ok is silent
		{"", false, "degraded", "outreach.connection_degraded"},
		{"degraded", true, "degraded", ""},
		{"degraded", true, "ok", "outreach.connection_recovered"},
		{"ok", true, "degraded", "outreach.connection_degraded"},
	}
	for _, c := range cases {
		if got := Transition(r, c.last, c.seen, c.now); got != c.want {
			t.Errorf("%q (seen %v) -> %q: %q, want %q", c.last, c.seen, c.now, got, c.want)
		}
	}
}

func TestTenantExpressionsAreChecked(t *testing.T) {
	for expr, want := range map[string]string{
		"data.sent >=":                        "Syntax error",
		"data.sent + 1":                       "not a bool",
		"data.hot":                            "not a bool",
		"data.hot == true":                    "",
		"undeclared.x > 1":                    "undeclared reference",
		`data.score >= tenant.lead_threshold`: "",
	} {
		_, err := Compile(expr)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("Compile(%q) = %v, want %q", expr, err, want)
		}
	}
	if p1, _ := Compile("data.x > 1.0"); p1 == nil {
		t.Fatal("no program")
	} else if p2, _ := Compile("data.x > 1.0"); p1 != p2 {
		t.Error("an expression was compiled twice")
	}
	for _, at := range []string{"twice", "once_per:", "once_per:-1h"} {
		if _, err := ParseLimit(at); err == nil {
			t.Errorf("at_most %q accepted", at)
		}
	}
	if l, err := ParseLimit("once_per:24h"); err != nil || l.Cooldown != 24*time.Hour {
		t.Errorf("once_per:24h: %+v %v", l, err)
	}
}

// A tenant's expression cannot run away: the cost limit stops it.
func TestCostLimit(t *testing.T) {
	p, err := Compile(`[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, a+b+c+d > 0))))`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(map[string]any{}, map[string]any{}); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Fatalf("a 10,000-step expression ran: %v", err)
	}
}

func cached() int {
	cache.Lock()
	defer cache.Unlock()
	return cache.programs.Len()
}

// 10,000 distinct expressions keep at most cacheSize programs; expressions
// that fail are not kept, and one over MaxWhenBytes is refused before it is
// compiled.
func TestCompiledProgramsStayBounded(t *testing.T) {
	for i := range 10_000 {
		if _, err := Compile(fmt.Sprintf("data.score >= %d", i)); err != nil {
			t.Fatal(err)
		}
		if n := cached(); n > cacheSize {
			t.Fatalf("%d programs cached after %d expressions", n, i+1)
		}
	}
	// The most recent is still there, and compiles to the same program.
	p1, _ := Compile("data.score >= 9999")
	p2, _ := Compile("data.score >= 9999")
	if p1 != p2 {
		t.Error("a recent expression was compiled again")
	}

	cache.Lock()
	cache.programs = lru.New[string, *Program](cacheSize)
	cache.Unlock()
	for i := range 100 {
		if _, err := Compile(fmt.Sprintf("data.score >= %d &&", i)); err == nil {
			t.Fatal("a bad expression compiled")
		}
		if _, err := Compile(fmt.Sprintf("data.score + %d", i)); err == nil {
			t.Fatal("a number compiled as a condition")
		}
	}
	long := "data.a == '" + strings.Repeat("x", MaxWhenBytes) + "'"
	if _, err := Compile(long); !errors.Is(err, ErrWhenTooLong) {
		t.Errorf("an expression of %d bytes: %v", len(long), err)
	}
	if err := CheckShape(Rule{Name: "r", On: "x", Emit: "y", Key: []string{"k"}, AtMost: "once", When: long}); !errors.Is(err, ErrWhenTooLong) {
		t.Errorf("CheckShape let a long expression through: %v", err)
	}
	if n := cached(); n != 0 {
		t.Errorf("%d programs cached for expressions that failed", n)
	}
}
