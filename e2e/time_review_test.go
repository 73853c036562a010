package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/contract"
)

// The weekly time review: time entry notices reach the users named; the
// tenant's time_review schedule (Mondays) sends each analytics subscriber
// their own week, entries waiting for review and rejected ones listed by
// their latest notice.
func TestTimeReviewListsEachUsersEntries(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	suffix := tn.id.String()[:8]
	tia, ugo := "tia-time-"+suffix+"@example.com", "ugo-time-"+suffix+"@example.com"
	tn.putUser("tia", tia)
	tn.putUser("ugo", ugo)
	entry := func(id, status string, extra ...any) {
		data := map[string]any{"entry_id": id, "status": status, "project": "Atlas", "hours": 2.5}
		for i := 0; i+1 < len(extra); i += 2 {
			data[extra[i].(string)] = extra[i+1]
		}
		tn.waitEvent(tn.postEvent(map[string]any{"type": "time.entry_updated", "recipients": map[string]any{"users": []string{"tia"}},
			"data": data, "link": "https://time.example/" + id}).EventID)
	}
	entry("te-1", "submitted")
	entry("te-2", "submitted")
	entry("te-2", "approved", "reviewer", "Kim")
	entry("te-3", "rejected", "reviewer", "Kim", "comment", "Wrong project.")

	// Each notice is an email of its own too.
	rejected := mailOfType(tia, "time.entry_updated")
	if len(rejected) != 4 {
		t.Fatalf("%d time entry emails to tia, want 4", len(rejected))
	}
	var sawRejected bool
	for _, m := range rejected {
		if m.Subject == "Atlas: time entry te-3 rejected" && strings.Contains(m.Text, "rejected by Kim. Correct it and submit it again.") {
			sawRejected = true
		}
	}
	if !sawRejected {
		t.Errorf("no rejection email to tia among %d", len(rejected))
	}

	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"summaries": map[string]any{"time_review": map[string]any{"enabled": true, "at": "08:30"}}}))
	h := env.temporal.ScheduleClient().GetHandle(ctx, contract.SummaryScheduleID(tn.id, "time_review"))
	desc, err := h.Describe(ctx)
	if err != nil {
		t.Fatalf("no time review schedule: %v", err)
	}
	if c := desc.Schedule.Spec.Calendars; len(c) != 1 || c[0].DayOfWeek[0].Start != 1 || c[0].Hour[0].Start != 8 || c[0].Minute[0].Start != 30 {
		t.Fatalf("time review schedule %+v", desc.Schedule.Spec)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the time reviews", func() bool {
		return len(mailOfType(tia, catalog.TimeReview)) > 0 && len(mailOfType(ugo, catalog.TimeReview)) > 0
	})
	m := mailOfType(tia, catalog.TimeReview)[0]
	m.Text = strings.ReplaceAll(m.Text, "\r\n", "\n")
	if m.Subject != "Your time review: 3 entries this week, 1 waits for review, 1 rejected" ||
		!strings.Contains(m.Text, "This week: 3 time entries, 7.5 hours; 1 approved.") ||
		!strings.Contains(m.Text, "Waiting for review:\n- te-1 on Atlas, 2.5 hours <https://time.example/te-1>") ||
		!strings.Contains(m.Text, "Rejected, to correct and submit again:\n- te-3 on Atlas, 2.5 hours <https://time.example/te-3>") ||
		strings.Contains(m.Text, "te-2 on") {
		t.Errorf("tia's time review: %q\n%s", m.Subject, m.Text)
	}
	if m := mailOfType(ugo, catalog.TimeReview)[0]; m.Subject != "Your time review: no time entries this week" {
		t.Errorf("ugo's time review: %q\n%s", m.Subject, m.Text)
	}
	if err := h.Delete(ctx); err != nil {
		t.Fatal(err)
	}
}
