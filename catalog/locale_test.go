package catalog

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldhq/herald/locale"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenData is one full event per built-in type that notifies: every
// optional field set, with counts that need a plural.
var goldenData = map[string]string{
	"outreach.prospect_replied":     `{"prospect_name": "Grace Hopper", "prospect_email": "grace@navy.example", "campaign_id": "c-9", "campaign_name": "Spring", "sentiment": "positive", "reply_excerpt": "Yes, let's talk.\nNext week?"}`,
	"herald.collapsed":              `{"type": "issue.commented", "group_key": "issue:PROJ-1", "title": "New comment on PROJ-1", "total": 7, "others": 6, "items": [{"title": "New comment on PROJ-1", "body": "Ada: looks good", "link": "https://example.com/p/1", "at": "2026-05-01T09:30:00Z"}, {"title": "New comment on PROJ-1", "body": "Bob: agreed"}], "more": 5}`,
	"outreach.drafts_ready":         `{"batch_id": "b-1", "drafts": 5}`,
	"outreach.bounce_rate_alert":    `{"campaign_id": "c-9", "name": "Spring", "sent": 1200, "bounced": 75}`,
	"outreach.campaign_completed":   `{"campaign_id": "c-9", "name": "Spring", "sent": 1200, "replies": 1, "bounced": 7}`,
	"outreach.experiment_ready":     `{"name": "Subject lines", "min_sample_size": 1000, "counts": {"a": 1000, "b": 1200}}`,
	"outreach.connection_degraded":  `{"connection_id": "smtp-1", "kind": "smtp"}`,
	"outreach.connection_recovered": `{"connection_id": "smtp-1", "kind": "smtp"}`,
	"lead.qualified":                `{"lead_id": "l-1", "persona": "CTO", "company": "Acme", "score": 72.5, "fields": {"budget": "50k"}, "summary": "Wants a demo.", "transcript_url": "https://t.example/1"}`,
	"usage.quota_warning":           `{"metric": "emails", "used": 8000, "limit": 10000, "period": "2026-11"}`,
	"usage.quota_reached":           `{"metric": "emails", "used": 10000, "limit": 10000, "period": "2026-11"}`,
	"usage.trend_alert":             `{"metric": "emails", "used": 6000, "limit": 10000, "growth_percent": 85, "rate": 740, "previous_rate": 400}`,
	"usage.projection_alert":        `{"metric": "emails", "used": 6000, "limit": 10000, "rate": 500, "projected_on": "2026-01-19", "period_end": "2026-02-01"}`,
	"issue.assigned":                `{"issue_key": "SN-1", "title": "Fix login"}`,
	"issue.status_changed":          `{"issue_key": "SN-1", "title": "Fix login", "status": "In Review"}`,
	"issue.commented":               `{"issue_key": "SN-1", "title": "Fix login", "author": "Ada", "comment": "Done?"}`,
	"issue.mentioned":               `{"issue_key": "SN-1", "title": "Fix login", "author": "Ada"}`,
	"project.update":                `{"project": "Atlas", "message": "The beta ships on Monday."}`,
	"project.milestone_deadline":    `{"milestone": "Beta", "project": "Atlas", "due": "2026-03-01"}`,
	"project.sprint_started":        `{"sprint": "14", "project": "Atlas"}`,
	"project.sprint_completed":      `{"sprint": "14", "project": "Atlas"}`,
	"team.invitation":               `{"team": "Platform", "inviter": "Ada"}`,
	"system.build_failed":           `{"pipeline": "deploy", "build_id": "412", "message": "2 tests failed."}`,
	"system.notice":                 `{"title": "Maintenance", "message": "Sunday 02:00-03:00 UTC."}`,
	TestNotification:                `{}`,
	"billing.notice":                `{"title": "New invoice", "message": "Your invoice for November is ready."}`,
	"billing.payment_failed":        `{"amount": "€49.00"}`,
	"billing.subscription_expiring": `{"expires_at": "2026-05-01T09:30:00Z", "plan": "Pro"}`,
	"ai.risk_alert":                 `{"title": "Churn risk at Acme", "summary": "Usage fell 40% in two weeks."}`,
	"ai.aide_alert":                 `{"title": "N+1 query", "message": "This query runs once per row.", "repository": "api", "file": "orders.go", "suggestion": "Batch the lookups."}`,
	"ai.skill_suggestion":           `{"skill": "SQL indexing", "reason": "Three of your last reviews asked for an index.", "level": "intermediate", "resource": "https://learn.example/sql"}`,
	"integration.extension_alert":   `{"extension": "GitHub sync", "severity": "high", "title": "Token expired", "message": "Reconnect the extension."}`,
	"time.entry_updated":            `{"entry_id": "te-7", "status": "rejected", "project": "Atlas", "hours": 1.5, "date": "2026-01-12", "reviewer": "Kim", "comment": "Wrong project."}`,
	"approval.requested":            `{"title": "Refund #12", "requester": "Kim", "description": "Customer asked twice."}`,
	"approval.reminder":             `{"title": "Refund #12"}`,
	"approval.escalated":            `{"title": "Refund #12", "requester": "Kim", "description": "Customer asked twice."}`,
	"approval.executive_alert":      `{"title": "Refund #12"}`,
	"approval.outcome":              `{"title": "Refund #12", "outcome": "approved", "decided_by": "Lin", "comment": "Fine."}`,
	BatchExpired:                    `{"batch_id": "b-1", "expected_jobs": 5, "completed_jobs": 1, "event_type": "outreach.drafts_ready"}`,
	ExperimentConcluded:             `{"name": "Subject lines", "winner": "b", "stop": "a"}`,
	Digest: `{"label": "Your daily digest", "frequency": "daily", "total": 5, "categories": ["issues", "billing"], "groups": [
		{"category": "issues", "title": "Issues", "total": 4, "more": 2, "items": [{"title": "SN-1 was assigned to you", "link": "https://app.example/SN-1"}, {"title": "New comment on SN-2"}]},
		{"category": "billing", "title": "Billing", "total": 1, "items": [{"title": "Your payment failed"}]}]}`,
	WeeklyDigest: `{"you": {"total": 12, "unread": 1, "categories": [{"category": "issues", "title": "Issues", "total": 11}, {"category": "ai", "title": "Ai", "total": 1}], "latest": [{"title": "SN-1 was assigned to you", "link": "https://app.example/SN-1"}]}}`,
	DailySummary: `{"you": {"total": 0}}`,
	TimeReview: `{"you": {"total": 30, "hours": 11.5, "approved": 1, "waiting_count": 27, "rejected_count": 1, "waiting_more": 26,
		"waiting": [{"entry_id": "te-1", "project": "Atlas", "date": "2026-01-12", "hours": 4, "link": "https://app.example/te-1"}],
		"rejected": [{"entry_id": "te-2", "hours": 1}]}}`,
}

// TestGoldenPerLocale renders every built-in type that notifies in each
// shipped language, inbox notice and email (text and HTML), and compares
// them with testdata/golden/<lang>/<type>.txt; go test -run
// TestGoldenPerLocale -update rewrites the files.
func TestGoldenPerLocale(t *testing.T) {
	user := Recipient{ID: "u1", Name: "Ada Lovelace", Email: "ada@example.com", Timezone: "Europe/Berlin"}
	for _, typ := range BuiltIn().All() {
		if !typ.Notifies() {
			continue
		}
		raw, ok := goldenData[typ.Key]
		if !ok {
			t.Errorf("%s: no golden data; add it to goldenData", typ.Key)
			continue
		}
		data, err := DecodeData([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", typ.Key, err)
		}
		r, err := NewRenderer(typ)
		if err != nil {
			t.Fatalf("%s: %v", typ.Key, err)
		}
		r.Tenant = "Acme"
		for _, lang := range []string{"en", "de", "fr"} {
			if lang != "en" {
				if _, ok := typ.Templates.Locales[lang]; !ok {
					t.Errorf("%s has no %s templates", typ.Key, lang)
				}
			}
			u := user
			u.Locale = lang
			n, err := r.Notice(data, u, "https://app.example/x")
			if err != nil {
				t.Fatalf("%s %s: %v", typ.Key, lang, err)
			}
			e, err := r.Email(data, u, "https://app.example/x")
			if err != nil {
				t.Fatalf("%s %s: %v", typ.Key, lang, err)
			}
			if e.Lang != lang {
				t.Errorf("%s %s: rendered in %q", typ.Key, lang, e.Lang)
			}
			e = WithUnsubscribe(e, "https://herald.example/unsubscribe/t", typ.Category)
			got := "== notice\n" + n.Subject + "\n\n" + n.Body + "\n\n== email text\n" + e.Subject + "\n\n" + e.Text + "\n\n== email html\n" + e.HTML
			golden(t, filepath.Join("testdata", "golden", lang, typ.Key+".txt"), got)
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGoldenPerLocale -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the render:\n%s", path, got)
	}
}

// TestLocaleFallback is the chain a reader's language goes down: their
// tag, its parents, the tenant's default, English.
func TestLocaleFallback(t *testing.T) {
	typ, _ := BuiltIn().Lookup("outreach.drafts_ready")
	custom := typ
	custom.Templates = Templates{Subject: "Drafts", Text: "{{counted .data.drafts \"draft\" \"drafts\"}}",
		Locales: map[string]Templates{"es": {Subject: "Borradores", Text: "{{counted .data.drafts \"borrador\" \"borradores\"}}"}}}
	data := map[string]any{"batch_id": "b-1", "drafts": 1000}
	for _, tt := range []struct {
		name           string
		typ            EventType
		user, tenant   string
		lang, contains string
	}{
		{"region finds its language", typ, "de-AT", "", "de", "1\u00a0000 Entwürfe"}, // Austria groups with a space
		{"language alone", typ, "de", "fr", "de", "1.000 Entwürfe sind"},
		{"a dialect x/text knows", typ, "gsw", "", "de", "Entwürfe"},
		{"French", typ, "fr-CA", "", "fr", "brouillons sont prêts"},
		{"unknown language takes the tenant's", typ, "nl", "fr", "fr", "1\u00a0000 brouillons"},
		{"no locale takes the tenant's", typ, "", "de-CH", "de", "Entwürfe"},
		{"neither matches: English", typ, "nl", "pt-BR", "en", "1,000 drafts are"},
		{"nothing set: English", typ, "", "", "en", "1,000 drafts"},
		{"unparsable is no locale", typ, "de_AT!!", "fr", "fr", "brouillons"},
		{"a tenant's own languages", custom, "es-MX", "de", "es", "1,000 borradores"}, // Mexico groups as English does,
		{"a tenant's type without German", custom, "de", "", "en", "1,000 drafts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewRenderer(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			r.Locale = tt.tenant
			c, err := r.Notice(data, Recipient{Locale: tt.user}, "")
			if err != nil {
				t.Fatal(err)
			}
			if c.Lang != tt.lang || !strings.Contains(c.Body, tt.contains) {
				t.Errorf("user %q, tenant %q: %s %q; want %s with %q", tt.user, tt.tenant, c.Lang, c.Body, tt.lang, tt.contains)
			}
		})
	}
}

// TestPlurals: the forms follow each language's CLDR rules, 0 included.
func TestPlurals(t *testing.T) {
	for _, tt := range []struct{ lang, n, one, other, want string }{
		{"de", "1", "neue Nachricht", "neue Nachrichten", "1 neue Nachricht"},
		{"de", "5", "neue Nachricht", "neue Nachrichten", "5 neue Nachrichten"},
		{"de", "0", "neue Nachricht", "neue Nachrichten", "0 neue Nachrichten"},
		{"fr", "0", "notification", "notifications", "0 notification"},
		{"fr", "1.5", "heure", "heures", "1,5 heure"},
		{"en", "1.5", "hour", "hours", "1.5 hours"},
		{"en", "0", "hour", "hours", "0 hours"},
	} {
		if got := counted(locale.For(locale.First(tt.lang)), tt.n, tt.one, tt.other); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.lang, tt.n, got, tt.want)
		}
	}
}

// TestVariantHTML: a variant with text of its own but no HTML is laid out
// from its text, never dressed in the English HTML.
func TestVariantHTML(t *testing.T) {
	typ := EventType{Key: "deploy.finished", Title: "Deploy finished", Templates: Templates{
		Subject: "Deploy done", Text: "Deployed.", HTML: "<p>English HTML</p>",
		Locales: map[string]Templates{"de": {Text: "Ausgerollt."}, "fr": {Subject: "Déploiement terminé"}}}}
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	de, err := r.Email(nil, Recipient{Locale: "de"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(de.HTML, "English HTML") || !strings.Contains(de.HTML, "Ausgerollt.") || de.Subject != "Deploy done" {
		t.Errorf("de: %q\n%s", de.Subject, de.HTML)
	}
	fr, err := r.Email(nil, Recipient{Locale: "fr"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if fr.HTML != "<p>English HTML</p>" || fr.Subject != "Déploiement terminé" {
		t.Errorf("fr: %q\n%s", fr.Subject, fr.HTML)
	}
}
