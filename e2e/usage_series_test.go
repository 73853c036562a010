package e2e

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// reading posts one usage.updated input measured at day (days after
// 1 January 2026, UTC) and waits for its rules.
func (tn *tenant) reading(metric, period string, used, limit float64, day float64) inputView {
	tn.t.Helper()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(day * float64(24*time.Hour)))
	return tn.evaluated(tn.postInput("usage.updated", map[string]any{"metric": metric, "used": used, "limit": limit,
		"period": period, "measured_at": at.Format(time.RFC3339)}))
}

// firedRules names the rules that fired on an input, in the order listed.
func firedRules(v inputView) string {
	var out []string
	for _, r := range v.Rules {
		if r.Fired {
			out = append(out, r.Rule)
		}
	}
	return strings.Join(out, ",")
}

// A metric that grows three times as fast this month as last gets one
// trend alert; once its pace would reach the limit before the month ends,
// one projection alert that says when. Each fires once per metric and
// period, and the owner gets one email of each.
func TestUsageTrendAndProjectionAlertOncePerPeriod(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	owner := "olga-trend-" + tn.id.String()[:8] + "@example.com"
	tn.putUser("olga", owner, "role", "owner")

	// January: 3,000 in 30 days, 100 a day.
	for _, step := range []struct {
		used, day float64
	}{{0, 0}, {3000, 30}} {
		if got := firedRules(tn.reading("emails", "2026-01", step.used, 10000, step.day)); got != "" {
			t.Fatalf("January at %v fired %s", step.used, got)
		}
	}
	// February: 1,200 in 4 days is 300 a day, 200 % faster; at that pace
	// the limit is reached in March. Then 4,000 by day 10 (400 a day)
	// reaches it on 26 February.
	for _, step := range []struct {
		used, day float64
		want      string
	}{
		{0, 31, ""},
		{1200, 35, "usage_trend"},
		{2400, 38, ""},
		{4000, 41, "usage_projection"},
		{4500, 42, ""},
	} {
		v := tn.reading("emails", "2026-02", step.used, 10000, step.day)
		if got := firedRules(v); got != step.want {
			t.Errorf("February at %v fired %q, want %q: %+v", step.used, got, step.want, v.Rules)
		}
		if step.used == 4500 {
			for _, rule := range []string{"usage_trend", "usage_projection"} {
				if o := outcome(t, v, rule); o.Reason != "already_fired" {
					t.Errorf("%s after it fired: %+v", rule, o)
				}
			}
		}
	}

	waitFor(t, time.Minute, "the owner's usage alerts", func() bool {
		return len(mailOfType(owner, "usage.trend_alert")) > 0 && len(mailOfType(owner, "usage.projection_alert")) > 0
	})
	trend, projection := mailOfType(owner, "usage.trend_alert"), mailOfType(owner, "usage.projection_alert")
	if len(trend) != 1 || len(projection) != 1 {
		t.Fatalf("%d trend and %d projection emails, want one each", len(trend), len(projection))
	}
	if m := trend[0]; m.Subject != "Your emails usage is growing faster (+200%)" ||
		!strings.Contains(m.Text, "Usage of emails is growing 200% faster this period than last: about 300 a day, up from 100.") ||
		!strings.Contains(m.Text, "1,200 of 10,000 emails used so far (12%)") {
		t.Errorf("trend email: %q\n%s", m.Subject, m.Text)
	}
	if m := projection[0]; m.Subject != "You will reach your emails limit around February 26, 2026" ||
		!strings.Contains(m.Text, "At the current rate of about 400 a day, your emails reach the limit of 10,000 around February 26, 2026, before the period ends on February 28, 2026.") {
		t.Errorf("projection email: %q\n%s", m.Subject, m.Text)
	}

	// The series keeps a metric's newest three periods.
	tn.reading("emails", "2026-03", 10, 10000, 59)
	tn.reading("emails", "2026-04", 10, 10000, 90)
	if n := count(t, "SELECT count(*) FROM usage_series WHERE tenant_id = $1 AND metric = 'emails'", tn.id); n != 3 {
		t.Errorf("the series keeps %d periods, want 3", n)
	}
}

// Concurrent readings that all show the growth fire the trend rule once;
// a tenant's own threshold holds back growth below it.
func TestUsageTrendConcurrentAndTenantThreshold(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	owner := "oskar-trend-" + tn.id.String()[:8] + "@example.com"
	tn.putUser("oskar", owner, "role", "owner")

	r := tn.must(400, tn.do("PUT", "/v1/tenant/settings", map[string]any{"usage_trend_percent": -5}))
	if !strings.Contains(string(r.raw), "usage_trend_percent") {
		t.Fatalf("a negative threshold: %s", r.raw)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"usage_trend_percent": 250}))
	got := decodeAs[map[string]any](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)))
	if got["usage_trend_percent"] != 250.0 {
		t.Fatalf("settings answer usage_trend_percent %v", got["usage_trend_percent"])
	}

	for _, metric := range []string{"calls", "seats"} {
		tn.reading(metric, "2026-W01", 0, 1e9, 0)
		tn.reading(metric, "2026-W01", 700, 1e9, 7) // 100 a day
		tn.reading(metric, "2026-W02", 0, 1e9, 7)
	}
	// Seats: 300 a day, 200 % faster, under the tenant's 250 %.
	if v := tn.reading("seats", "2026-W02", 600, 1e9, 9); firedRules(v) != "" || outcome(t, v, "usage_trend").Reason != "condition_false" {
		t.Errorf("growth under the tenant's threshold: %+v", v.Rules)
	}
	// Calls: eight readings at once, each 400 a day or more.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i] = tn.postInput("usage.updated", map[string]any{"metric": "calls", "used": 800 + 10*i, "limit": 1e9,
				"period": "2026-W02", "measured_at": time.Date(2026, 1, 10, 0, i, 0, 0, time.UTC).Format(time.RFC3339)})
		}()
	}
	wg.Wait()
	fired := 0
	for _, id := range ids {
		if o := outcome(t, tn.evaluated(id), "usage_trend"); o.Fired {
			fired++
		} else if o.Reason != "already_fired" {
			t.Errorf("a concurrent reading held back for %s: %+v", o.Reason, o)
		}
	}
	if fired != 1 || tn.emittedOf("usage.trend_alert") != 1 {
		t.Errorf("%d concurrent readings fired, %d alerts; want 1 and 1", fired, tn.emittedOf("usage.trend_alert"))
	}
	waitFor(t, time.Minute, "the trend email", func() bool { return len(mailOfType(owner, "usage.trend_alert")) > 0 })
	if n := len(mailOfType(owner, "usage.trend_alert")); n != 1 {
		t.Errorf("%d trend emails, want 1", n)
	}
}
