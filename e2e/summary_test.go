package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

func summaryMail(address string) []mailcatch.Message {
	var out []mailcatch.Message
	for _, m := range env.mail.Messages() {
		if t := m.Header["X-Herald-Event-Type"]; len(t) == 1 && catalog.IsSummary(t[0]) && len(m.To) == 1 && m.To[0] == address {
			out = append(out, m)
		}
	}
	return out
}

// TestScheduledSummaries: enabling a summary in the tenant's settings
// creates its Temporal schedule (Monday 09:00 in the tenant's zone);
// a run sends each user their own week, except to a user who turned it
// off; disabling deletes the schedule.
func TestScheduledSummaries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	reader, quiet := "sum-reader-"+suffix+"@example.com", "sum-off-"+suffix+"@example.com"
	tn.putUser("sum-reader", reader)
	tn.putUser("sum-off", quiet)
	tn.must(200, tn.do("PUT", "/v1/users/sum-off/preferences", map[string]any{
		"events": map[string]any{catalog.WeeklyDigest: map[string]any{"email": false}}}))
	for _, key := range []string{"SUM-1", "SUM-2"} {
		tn.waitEvent(tn.assign("sum-reader", key).EventID)
	}

	r := tn.must(400, tn.do("PUT", "/v1/tenant/settings", map[string]any{"summaries": map[string]any{"monthly": map[string]any{"enabled": true}}}))
	if !strings.Contains(string(r.raw), "summaries.monthly") {
		t.Fatalf("unknown summary: %s", r.raw)
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"timezone": "Europe/Berlin",
		"summaries": map[string]any{"weekly_digest": map[string]any{"enabled": true}}}))
	id := contract.SummaryScheduleID(tn.id, "weekly_digest")
	h := env.temporal.ScheduleClient().GetHandle(ctx, id)
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("no schedule after enabling: %v", err)
	}
	spec := desc.Schedule.Spec
	if spec.TimeZoneName != "Europe/Berlin" || len(spec.Calendars) != 1 || spec.Calendars[0].Hour[0].Start != 9 ||
		len(spec.Calendars[0].DayOfWeek) != 1 || spec.Calendars[0].DayOfWeek[0].Start != 1 {
		t.Fatalf("schedule spec %+v", spec)
	}
	if _, err := env.temporal.ScheduleClient().GetHandle(ctx, contract.SummaryScheduleID(tn.id, "daily_summary")).Describe(ctx); err == nil {
		t.Fatal("a disabled summary has a schedule")
	}
	got := decodeAs[map[string]any](t, tn.must(200, tn.do("GET", "/v1/tenant/settings", nil)))
	if s, _ := got["summaries"].(map[string]any)["weekly_digest"].(map[string]any); s["enabled"] != true || s["at"] != "09:00" {
		t.Fatalf("settings answer summaries %v", got["summaries"])
	}

	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the weekly digest", func() bool { return len(summaryMail(reader)) > 0 })
	m := summaryMail(reader)[0]
	if m.Subject != "Your week: 2 notifications, 2 unread" || !strings.Contains(m.Text, "Issues: 2") ||
		!strings.Contains(m.Text, "SUM-2 was assigned to you") {
		t.Fatalf("weekly digest: %q\n%s", m.Subject, m.Text)
	}
	if len(m.Header["List-Unsubscribe"]) != 1 {
		t.Error("the weekly digest has no one-click unsubscribe")
	}
	ev := tn.waitEvent(m.Header["X-Herald-Event-Id"][0])
	for _, d := range ev.Deliveries {
		if d.UserID == "sum-off" && (d.Status != "skipped" || d.Reason != "preference_disabled") {
			t.Errorf("the user who turned it off: %+v", d)
		}
	}
	if n := len(summaryMail(quiet)); n != 0 {
		t.Errorf("%d summaries to the user who turned them off", n)
	}

	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"summaries": map[string]any{"weekly_digest": map[string]any{"enabled": false}}}))
	_, err = h.Describe(ctx)
	var gone *serviceerror.NotFound
	if !errors.As(err, &gone) {
		t.Fatalf("schedule after disabling: %v", err)
	}
}
