package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

type experimentView struct {
	ID            string           `json:"id"`
	Status        string           `json:"status"`
	Variants      []string         `json:"variants"`
	Counts        map[string]int64 `json:"counts"`
	Checks        int              `json:"checks"`
	NextCheckAt   *time.Time       `json:"next_check_at"`
	ReadyAt       *time.Time       `json:"ready_at"`
	Winner        string           `json:"winner,omitempty"`
	ConcludedAt   *time.Time       `json:"concluded_at"`
	MinSampleSize int64            `json:"min_sample_size"`
	CheckAt       string           `json:"check_at"`
}

func (tn *tenant) experiment(id string) experimentView {
	tn.t.Helper()
	return decodeAs[experimentView](tn.t, tn.must(200, tn.do("GET", "/v1/experiments/"+id, nil)))
}

// An experiment through the API: samples come in, the check in the
// tenant's zone finds every variant sampled and notifies once (email,
// in-app), the winner is recorded once, and the backend gets a signed
// experiment.concluded at its webhook.
func TestExperimentNotifiesOnceAndTellsTheBackend(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("eli", "eli-exp@example.com")
	tn.putUser("own", "own-exp@example.com", "role", "owner")
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"timezone": "America/New_York"}))
	hook := newHookServer(t)
	created := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL,
		"event_types": []string{"experiment.concluded"}})))

	// The check is at the next whole minute in New York, at least 20 s
	// away, so the test sees one real check.
	ny, _ := time.LoadLocation("America/New_York")
	at := time.Now().In(ny).Add(20 * time.Second).Truncate(time.Minute).Add(time.Minute)
	const link = "https://app.example/experiments/subjects"
	body := map[string]any{"id": "subjects", "name": "Subject lines", "variants": []string{"short", "long"},
		"min_sample_size": 50, "check_at": at.Format("15:04"), "link": link}
	r := tn.must(201, tn.do("POST", "/v1/experiments", body))
	if v := decodeAs[experimentView](t, r); v.Status != "running" || !strings.Contains(string(r.raw), `"link":"`+link+`"`) {
		t.Fatalf("a new experiment: %s", r.raw)
	}
	var v experimentView
	tn.must(200, tn.do("POST", "/v1/experiments", body))
	body2 := map[string]any{"id": "subjects", "name": "Subject lines", "variants": []string{"short", "long", "emoji"}, "min_sample_size": 50}
	if r := tn.do("POST", "/v1/experiments", body2); r.status != 409 || r.errCode() != "experiment_conflict" {
		t.Errorf("another experiment under the same ID: %d %s", r.status, r.raw)
	}
	if r := tn.do("POST", "/v1/experiments/subjects/samples", map[string]any{"counts": map[string]any{"medium": 3}}); r.status != 422 || r.errCode() != "unknown_variant" {
		t.Errorf("samples of an unknown variant: %d %s", r.status, r.raw)
	}
	tn.must(202, tn.do("POST", "/v1/experiments/subjects/samples", map[string]any{"counts": map[string]any{"short": 10, "long": 70}}))
	tn.must(202, tn.do("POST", "/v1/experiments/subjects/samples", map[string]any{"counts": map[string]any{"short": 55}})) // the latest wins
	waitFor(t, 10*time.Second, "the samples to be seen", func() bool {
		v = tn.experiment("subjects")
		return v.Counts["short"] == 55 && v.Counts["long"] == 70
	})
	if v.NextCheckAt == nil || !v.NextCheckAt.Equal(at) {
		t.Errorf("next check at %v, want %v (%s in New York)", v.NextCheckAt, at, body["check_at"])
	}

	waitFor(t, 2*time.Minute, "the check to stamp the experiment", func() bool { v = tn.experiment("subjects"); return v.Status == "ready" })
	if v.Checks != 1 || v.ReadyAt == nil || v.ReadyAt.Before(at) {
		t.Errorf("the stamped experiment: %+v", v)
	}
	var ready []string
	var readyHTML []string
	waitFor(t, 30*time.Second, "the ready emails", func() bool {
		ready, readyHTML = nil, nil
		for _, m := range env.mail.Messages() {
			if strings.Contains(m.Subject, "Experiment Subject lines is ready") && (m.To[0] == "eli-exp@example.com" || m.To[0] == "own-exp@example.com") {
				ready = append(ready, m.To[0]+": "+m.Text)
				readyHTML = append(readyHTML, m.HTML)
			}
		}
		return len(ready) == 2
	})
	// Each ready email's button opens the experiment.
	for _, html := range readyHTML {
		if !strings.Contains(html, `href="`+link+`"`) {
			t.Errorf("a ready email does not link to the experiment: %s", html)
		}
	}
	if !strings.Contains(ready[0], "short: 55") || !strings.Contains(ready[0], "long: 70") {
		t.Errorf("the ready email lacks the counts: %s", ready[0])
	}
	// More samples after the stamp notify nobody again.
	tn.must(202, tn.do("POST", "/v1/experiments/subjects/samples", map[string]any{"counts": map[string]any{"short": 500}}))

	if r := tn.do("POST", "/v1/experiments/subjects/conclude", map[string]any{"winner": "medium"}); r.status != 422 || r.errCode() != "unknown_variant" {
		t.Errorf("an unknown winner: %d %s", r.status, r.raw)
	}
	final := decodeAs[experimentView](t, tn.must(200, tn.do("POST", "/v1/experiments/subjects/conclude", map[string]any{"winner": "long"})))
	if final.Status != "concluded" || final.Winner != "long" || final.ConcludedAt == nil {
		t.Fatalf("the conclusion: %+v", final)
	}
	if r := tn.do("POST", "/v1/experiments/subjects/conclude", map[string]any{"winner": "short"}); r.status != 409 || r.errCode() != "already_concluded" ||
		!strings.Contains(r.errorBody().Error.Message, "long won") {
		t.Errorf("a second conclusion: %d %s", r.status, r.raw)
	}

	var calls []hookCall
	waitFor(t, 30*time.Second, "the backend's webhook", func() bool { calls = hook.calls(); return len(calls) == 1 })
	wh, _ := standardwebhooks.NewWebhook(created.Secret)
	if err := wh.Verify(calls[0].body, calls[0].header); err != nil {
		t.Errorf("the webhook does not verify: %v", err)
	}
	var payload struct {
		EventType string `json:"event_type"`
		Data      struct {
			Winner string   `json:"winner"`
			Losers []string `json:"losers"`
		} `json:"data"`
	}
	if err := json.Unmarshal(calls[0].body, &payload); err != nil || payload.EventType != "experiment.concluded" ||
		payload.Data.Winner != "long" || len(payload.Data.Losers) != 1 || payload.Data.Losers[0] != "short" {
		t.Errorf("the webhook payload: %s", calls[0].body)
	}
	if got := tn.experiment("subjects"); got.Status != "concluded" || got.Winner != "long" {
		t.Errorf("GET after the end: %+v", got)
	}
	if r := tn.do("POST", "/v1/experiments/subjects/samples", map[string]any{"counts": map[string]any{"short": 501}}); r.status != 409 {
		t.Errorf("samples after the end: %d %s", r.status, r.raw)
	}
	if n := tn.emittedOf("outreach.experiment_ready"); n != 1 {
		t.Errorf("%d experiment_ready events, want 1", n)
	}
	recordHistory(t, "experiment/"+tn.id.String()+"/subjects", "experiment_concluded")
}

// Bad experiments are refused and store nothing.
func TestBadExperimentsChangeNothing(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	for _, body := range []map[string]any{
		{"id": "x", "name": "X", "variants": []string{"a"}, "min_sample_size": 10},
		{"id": "x", "name": "X", "variants": []string{"a", "a"}, "min_sample_size": 10},
		{"id": "x", "name": "X", "variants": []string{"a", "b"}, "min_sample_size": 0},
		{"id": "x", "name": "X", "variants": []string{"a", "b"}, "min_sample_size": 10, "check_at": "9am"},
		{"id": "x", "name": "", "variants": []string{"a", "b"}, "min_sample_size": 10},
		{"id": "x y", "name": "X", "variants": []string{"a", "b"}, "min_sample_size": 10},
		{"id": "x", "name": "X", "variants": []string{"a", "b"}, "min_sample_size": 10, "link": "/experiments/x"},
		{"id": "x", "name": "X", "variants": []string{"a", "b"}, "min_sample_size": 10, "link": "javascript:alert(1)"},
		{"id": "x", "name": "X", "variants": []string{"a", "b"}, "min_sample_size": 10, "link": "https://app.example/" + strings.Repeat("x", 2000)},
	} {
		if r := tn.do("POST", "/v1/experiments", body); r.status != 400 {
			t.Errorf("%v: %d %s", body, r.status, r.raw)
		}
	}
	if n := count(t, "SELECT count(*) FROM experiments WHERE tenant_id = $1", tn.id); n != 0 {
		t.Errorf("refused experiments stored %d rows", n)
	}
	tn.must(404, tn.do("GET", "/v1/experiments/none", nil))
	tn.must(404, tn.do("POST", "/v1/experiments/none/conclude", map[string]any{"winner": "a"}))
}
