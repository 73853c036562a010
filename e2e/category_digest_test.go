package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/mailer"
)

// categoryPrefsView is the part of GET …/preferences a per-category
// frequency shows in: the category as stored, and as it applies.
type categoryPrefsView struct {
	Categories map[string]struct {
		Email     *bool  `json:"email,omitempty"`
		Frequency string `json:"frequency,omitempty"`
	} `json:"categories"`
	Effective struct {
		Categories map[string]struct {
			Frequency map[string]string `json:"frequency,omitempty"`
		} `json:"categories"`
	} `json:"effective"`
}

// TestCategoryDigest: a user who digests one category daily gets the
// other categories' email at once, on the same channel, and the digest,
// when the window closes, lists only the digested category.
func TestCategoryDigest(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "cat-dig"
	address := user + "-" + tn.id.String()[:8] + "@example.com"
	tn.putUser(user, address)
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{
		"categories": map[string]any{"projects": map[string]any{"email": true, "frequency": "daily"}}}))

	p := decodeAs[categoryPrefsView](t, tn.must(200, tn.do("GET", "/v1/users/"+user+"/preferences", nil)))
	if c := p.Categories["projects"]; c.Frequency != "daily" || c.Email == nil || !*c.Email {
		t.Errorf("stored projects = %+v, want email on, daily", c)
	}
	if f := p.Effective.Categories["projects"].Frequency; f["email"] != "daily" || f["slack"] != "daily" {
		t.Errorf("effective projects frequency = %v, want daily on email and slack", f)
	}

	tn.startWindow(user, channel.Email, 10*time.Second)
	project := tn.postEvent(map[string]any{"type": "project.update", "recipients": map[string]any{"users": []string{user}},
		"data": map[string]any{"project": "Apollo", "message": "the launch moved to May"}})
	issue := tn.assign(user, "CAT-1")

	// The issue is not digested: its email goes out now.
	if msg := onlyMail(t, issue.EventID); msg.To[0] != address {
		t.Fatalf("issue email went to %v", msg.To)
	}
	if d := emailOf(t, tn.waitEvent(issue.EventID), user); d.Status != "delivered" {
		t.Errorf("issue email delivery: %+v", d)
	}
	if n := len(digestMail(address)); n != 0 {
		t.Fatalf("%d digests before the window closed", n)
	}
	if d := emailOf(t, tn.waitEvent(project.EventID), user); d.Status != "skipped" || d.Reason != "digested" {
		t.Fatalf("project email delivery: %+v, want skipped/digested", d)
	}
	if n := len(mailFor(project.EventID)); n != 0 {
		t.Fatalf("the digested project update sent %d emails of its own", n)
	}

	m := tn.onlyDigest(user, address)
	if m.Subject != "Your daily digest: 1 notification" {
		t.Errorf("digest subject %q", m.Subject)
	}
	for _, body := range []string{m.Text, m.HTML} {
		if !strings.Contains(body, "Update on Apollo") || !strings.Contains(body, "Projects") {
			t.Errorf("the digest does not list the project update:\n%s", body)
		}
		if strings.Contains(body, "CAT-1") || strings.Contains(body, "Issues") {
			t.Errorf("the digest lists the issue sent at once:\n%s", body)
		}
	}
	var toUser int
	for _, msg := range env.mail.Messages() {
		if len(msg.To) == 1 && msg.To[0] == address {
			toUser++
		}
	}
	if toUser != 2 {
		t.Errorf("%d emails to the user, want 2: the issue, then the digest", toUser)
	}
}

// TestCategoryFrequencyRefused: a bad category frequency is refused
// naming its field, as the channel's is, and changes nothing.
func TestCategoryFrequencyRefused(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("cat-bad", "cat-bad@example.com")
	good := map[string]any{"categories": map[string]any{"projects": map[string]any{"frequency": "weekly"}}}
	tn.must(200, tn.do("PUT", "/v1/users/cat-bad/preferences", good))
	before := tn.must(200, tn.do("GET", "/v1/users/cat-bad/preferences", nil)).raw
	for _, tt := range []struct{ body, field string }{
		{`{"categories":{"projects":{"frequency":"sometimes"}}}`, "categories.projects.frequency"},
		{`{"categories":{"projects":{"frequency":{"email":"monthly"}}}}`, "categories.projects.frequency.email"},
		{`{"categories":{"projects":{"frequency":{"in_app":"daily"}}}}`, "categories.projects.frequency.in_app"},
		{`{"categories":{"projects":{"frequency":7}}}`, ""},
	} {
		r := tn.do("PUT", "/v1/users/cat-bad/preferences", tt.body)
		if r.status != 400 || r.errorBody().Error.Message == "" {
			t.Errorf("%s: %d %s, want 400 in the error shape", tt.body, r.status, r.raw)
			continue
		}
		if tt.field != "" && (r.errCode() != "invalid_field" || r.errorBody().Error.Details["field"] != tt.field) {
			t.Errorf("%s: %s, want invalid_field naming %s", tt.body, r.raw, tt.field)
		}
	}
	settings := tn.do("PUT", "/v1/tenant/settings", map[string]any{"defaults": map[string]any{
		"categories": map[string]any{"projects": map[string]any{"frequency": "fortnightly"}}}})
	if settings.status != 400 || settings.errorBody().Error.Details["field"] != "defaults.categories.projects.frequency" {
		t.Errorf("tenant default category frequency: %d %s", settings.status, settings.raw)
	}
	if after := tn.must(200, tn.do("GET", "/v1/users/cat-bad/preferences", nil)).raw; string(after) != string(before) {
		t.Errorf("a refused PUT changed the document:\n%s\n%s", before, after)
	}
}

// TestCategoryCadencesShareAWindow: items of a category digested weekly
// wait through the daily closes of the same window, which stays open for
// them, and go out at the weekly close.
func TestCategoryCadencesShareAWindow(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "cat-mix"
	tn.putUser(user, "cat-mix@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{"categories": map[string]any{
		"projects": map[string]any{"frequency": "daily"}, "outreach": map[string]any{"frequency": "weekly"}}}))
	// Two items digested on Tuesday 2026-03-10 (UTC), written as their
	// pages would have, so no workflow closes the window meanwhile.
	ctx := context.Background()
	tuesday := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ids := map[string]uuid.UUID{
		"project.update":            tn.waitingItem(user, "project.update", `{"project":"Apollo","message":"moved"}`, tuesday),
		"outreach.prospect_replied": tn.waitingItem(user, "outreach.prospect_replied", `{"prospect_name":"Ana"}`, tuesday),
	}
	acts := digestActivities(t)
	w := activities.DigestWindow{TenantID: tn.id, UserID: user, Channel: channel.Email}

	plan, err := acts.PlanDigest(ctx, activities.PlanDigestInput{DigestWindow: w, Opened: tuesday, AsOf: tuesday})
	if want := time.Date(2026, 3, 11, 9, 0, 0, 0, time.UTC); err != nil || !plan.CloseAt.Equal(want) || plan.Frequency != "daily" {
		t.Fatalf("plan = %+v, %v; want the daily close %v", plan, err, want)
	}
	prepare := func(closeAt time.Time) activities.PreparedDigest {
		t.Helper()
		p, err := acts.PrepareDigest(ctx, activities.PrepareDigestInput{DigestWindow: w, CloseAt: closeAt, Frequency: plan.Frequency,
			WorkflowID: contract.DigestWorkflowID(tn.id, user, channel.Email)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	daily := prepare(plan.CloseAt)
	if daily.Items != 1 || digestOf(t, ids["project.update"]) == nil || digestOf(t, ids["outreach.prospect_replied"]) != nil {
		t.Fatalf("the daily close listed %d items; want the project update only", daily.Items)
	}
	if closed, err := acts.CloseDigestWindow(ctx, w, daily.Seq); err != nil || closed {
		t.Fatalf("the window closed (%v, %v) with a weekly item waiting", closed, err)
	}
	if n := count(t, `SELECT count(*) FROM digest_windows WHERE tenant_id = $1 AND user_id = $2 AND state = 'armed'`, tn.id, user); n != 1 {
		t.Fatal("the window is not armed any more")
	}
	// Nothing is due at Thursday's daily close; Monday's lists the rest.
	if p := prepare(time.Date(2026, 3, 12, 9, 0, 0, 0, time.UTC)); p.Items != 0 {
		t.Fatalf("Thursday's close listed %d items", p.Items)
	}
	monday := prepare(time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC))
	if monday.Items != 1 || digestOf(t, ids["outreach.prospect_replied"]) == nil {
		t.Fatalf("the weekly close listed %d items; want the prospect's reply", monday.Items)
	}
	if closed, err := acts.CloseDigestWindow(ctx, w, monday.Seq); err != nil || !closed {
		t.Fatalf("the window did not close (%v, %v) with nothing left", closed, err)
	}
}

// TestCategoryTurnedOffWhileDigested: items of a category the user turns
// off while they wait are skipped for that at the close, never listed, and
// the window closes.
func TestCategoryTurnedOffWhileDigested(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "cat-off"
	tn.putUser(user, "cat-off@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{"categories": map[string]any{
		"projects": map[string]any{"frequency": "daily"}}}))
	opened := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	item := tn.waitingItem(user, "project.update", `{"project":"Apollo","message":"moved"}`, opened)
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{"categories": map[string]any{
		"projects": map[string]any{"email": false, "frequency": "daily"}}}))

	acts := digestActivities(t)
	ctx := context.Background()
	w := activities.DigestWindow{TenantID: tn.id, UserID: user, Channel: channel.Email}
	plan, err := acts.PlanDigest(ctx, activities.PlanDigestInput{DigestWindow: w, Opened: opened, AsOf: opened})
	if err != nil || !plan.CloseAt.Equal(opened) {
		t.Fatalf("plan = %+v, %v; want the close now, to skip what waits", plan, err)
	}
	p, err := acts.PrepareDigest(ctx, activities.PrepareDigestInput{DigestWindow: w, CloseAt: plan.CloseAt, Frequency: plan.Frequency,
		WorkflowID: contract.DigestWorkflowID(tn.id, user, channel.Email)})
	if err != nil || p.Items != 0 {
		t.Fatalf("prepared %+v, %v; want nothing listed", p, err)
	}
	var status, reason string
	if err := env.pool.QueryRow(ctx, `SELECT status, reason FROM deliveries WHERE id = $1`, item).Scan(&status, &reason); err != nil {
		t.Fatal(err)
	}
	if status != "skipped" || reason != "category_unsubscribed" || digestOf(t, item) != nil {
		t.Errorf("the item is %s/%s, want skipped/category_unsubscribed and never listed", status, reason)
	}
	if closed, err := acts.CloseDigestWindow(ctx, w, p.Seq); err != nil || !closed {
		t.Errorf("the window did not close (%v, %v) with nothing left", closed, err)
	}
}

// waitingItem writes an event of typ to user and its email delivery
// waiting for a digest, digested at at, as a page would have, with the
// user's window armed; it returns the delivery's ID.
func (tn *tenant) waitingItem(user, typ, data string, at time.Time) uuid.UUID {
	tn.t.Helper()
	ctx := context.Background()
	var id uuid.UUID
	err := env.pool.QueryRow(ctx, `
		WITH ev AS (
			INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, data, workflow_id, status, started_at, created_at)
			VALUES (gen_random_uuid(), $1, $2, 'waiting-' || gen_random_uuid(), '\x00', jsonb_build_object('users', jsonb_build_array($3::text)), $4::jsonb, 'waiting', 'skipped', $5, $5) RETURNING id)
		INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, reason, created_at)
		SELECT $1, id, $3, 'email', 'skipped', 'digested', $5 FROM ev RETURNING id`, tn.id, typ, user, data, at).Scan(&id)
	if err != nil {
		tn.t.Fatal(err)
	}
	if _, err := env.pool.Exec(ctx, `INSERT INTO digest_windows (tenant_id, user_id, channel, state) VALUES ($1, $2, 'email', 'armed')
		ON CONFLICT (tenant_id, user_id, channel, group_type, group_key) DO UPDATE SET seq = digest_windows.seq + 1`, tn.id, user); err != nil {
		tn.t.Fatal(err)
	}
	return id
}

// digestActivities are the activities a test runs by hand, as a worker
// would.
func digestActivities(t *testing.T) *activities.Activities {
	t.Helper()
	sender, err := mailer.NewRelays([]string{env.mail.URL()}, "Herald <herald@e2e.test>", 1, mailer.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return activities.New(env.pool, &activities.EmailSender{Mail: sender, Domain: "e2e.test"})
}

func digestOf(t *testing.T, deliveryID uuid.UUID) *string {
	t.Helper()
	var d *string
	if err := env.pool.QueryRow(context.Background(), `SELECT digest_id::text FROM deliveries WHERE id = $1`, deliveryID).Scan(&d); err != nil {
		t.Fatal(err)
	}
	return d
}
