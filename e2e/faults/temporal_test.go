package faults

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// The Temporal server is SIGKILLed and started again on its database while
// five durable waits are pending: a quiet-hours deferral, a send_at, a
// digest window, an approval reminder and an experiment check. Each fires
// once, when it is due.
func TestTemporalKilledWithTimersPending(t *testing.T) {
	t.Parallel()
	s := ownStack(t, localstack.HeraldOptions{})
	mail := s.servers.Mail
	start := time.Now().UTC()
	// Everything comes due at the first whole minute at least 75 s away.
	due := start.Add(75 * time.Second).Truncate(time.Minute).Add(time.Minute)

	// Quiet hours that end at due.
	quiet := s.tenant(t)
	quiet.user("q", "quiet@faults.test")
	quiet.must(200, "PUT", "/v1/users/q/preferences", map[string]any{"quiet_hours": map[string]any{
		"enabled": true, "start": start.Add(-time.Hour).Format("15:04"), "end": due.Format("15:04"), "timezone": "UTC"}}, nil)
	quietEvent := quiet.post(assigned("q", "QUIET-1"))

	// A send_at at due.
	later := s.tenant(t)
	later.user("l", "later@faults.test")
	body := assigned("l", "LATER-1")
	body["send_at"] = due.Format(time.RFC3339)
	laterEvent := later.post(body)

	// A daily digest whose window is made to close a minute from now.
	dig := s.tenant(t)
	dig.user("d", "digest@faults.test")
	dig.must(200, "PUT", "/v1/users/d/preferences", map[string]any{
		"channels": map[string]any{"email": map[string]any{"frequency": "daily"}}}, nil)
	_, err := s.herald.Temporal.SignalWithStartWorkflow(context.Background(), contract.DigestWorkflowID(dig.id, "d", channel.Email),
		contract.SignalDigestArm, nil, client.StartWorkflowOptions{TaskQueue: s.herald.Config.TaskQueue},
		contract.DigestWorkflowName, contract.DigestInput{TenantID: dig.id, UserID: "d", Channel: channel.Email, Every: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	dig.post(assigned("d", "DIGEST-1"))

	// An approval reminding every minute.
	appr := s.tenant(t)
	appr.user("req", "requester@faults.test")
	appr.user("ada", "approver@faults.test")
	appr.must(201, "POST", "/v1/approvals", map[string]any{"id": "po-1", "title": "Buy a server", "requester": "req",
		"levels": []any{map[string]any{"approvers": []string{"ada"}, "timeout": "24h"}}, "remind_every": "1m"}, nil)
	asked := time.Now()

	// An experiment whose daily check is at due and whose samples are in.
	exp := s.tenant(t)
	exp.user("own", "owner@faults.test", "role", "owner")
	exp.must(201, "POST", "/v1/experiments", map[string]any{"id": "subject", "name": "Subject lines",
		"variants": []string{"a", "b"}, "min_sample_size": 10, "check_at": due.Format("15:04")}, nil)
	exp.must(http.StatusAccepted, "POST", "/v1/experiments/subject/samples", map[string]any{"counts": map[string]any{"a": 10, "b": 12}}, nil)

	// The crash, and the server back on its database 10 s later.
	time.Sleep(time.Until(start.Add(15 * time.Second)))
	if err := s.servers.Temporal.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Second)
	if err := s.servers.Temporal.Start(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Every wait fires once, not before it is due.
	waitFor(t, time.Until(due.Add(45*time.Second)), "the quiet-hours email", func() bool { return len(copies(mail, quietEvent.EventID)) == 1 })
	waitFor(t, time.Until(due.Add(45*time.Second)), "the send_at email", func() bool { return len(copies(mail, laterEvent.EventID)) == 1 })
	waitFor(t, time.Until(due.Add(45*time.Second)), "the digest", func() bool { return len(ofType(mail, "herald.digest", "digest@faults.test")) == 1 })
	waitFor(t, time.Until(due.Add(45*time.Second)), "the experiment's ready notice", func() bool {
		return len(ofType(mail, "outreach.experiment_ready", "owner@faults.test")) == 1
	})
	reminders := len(ofType(mail, "approval.reminder", "approver@faults.test"))
	// Reminders come every minute from the request: by now there may be two.
	if want := int(time.Since(asked) / time.Minute); reminders < 1 || reminders > want {
		t.Errorf("%d reminders %v after the request, want 1 to %d", reminders, time.Since(asked).Round(time.Second), want)
	}
	for _, m := range append(eventMail(mail, quietEvent.EventID), eventMail(mail, laterEvent.EventID)...) {
		if m.Received.Before(due) {
			t.Errorf("%s arrived at %v, before it was due at %v", m.Subject, m.Received, due)
		}
	}
	// Nothing fired twice: a few seconds more for a second copy to show.
	time.Sleep(5 * time.Second)
	onceEach(t, copies(mail, quietEvent.EventID), 1)
	onceEach(t, copies(mail, laterEvent.EventID), 1)
	if n := len(ofType(mail, "herald.digest", "digest@faults.test")); n != 1 {
		t.Errorf("%d digests, want 1", n)
	}
	if n := len(ofType(mail, "outreach.experiment_ready", "owner@faults.test")); n != 1 {
		t.Errorf("%d experiment notices, want 1", n)
	}
}

// user adds a user with an email address and optional extra fields.
func (tn *tenant) user(id, email string, extra ...string) {
	tn.t.Helper()
	body := map[string]any{"email": email, "name": "User " + id}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	if st := tn.do("PUT", "/v1/users/"+id, body, nil); st != 200 && st != 201 {
		tn.t.Fatalf("PUT user %s: %d", id, st)
	}
}

// assigned is an issue.assigned event for one user.
func assigned(user, issue string) map[string]any {
	return map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{user}},
		"data": map[string]any{"issue_key": issue, "title": "Fault " + issue}}
}

// ofType is the caught mail of an event type to an address.
func ofType(m *mailcatch.Server, typ, address string) []mailcatch.Message {
	var out []mailcatch.Message
	for _, msg := range m.Messages() {
		if tt := msg.Header["X-Herald-Event-Type"]; len(tt) == 1 && tt[0] == typ && len(msg.To) == 1 && msg.To[0] == address {
			out = append(out, msg)
		}
	}
	return out
}

// With the Temporal server down, the API still answers within seconds: an
// event, an approval, an experiment and a batch job are stored and
// accepted (2xx), and each runs once Temporal is back, started by the
// worker's reconciler. Nothing accepted is lost to the outage.
func TestTemporalDownRequestsAcceptedAndRunLater(t *testing.T) {
	t.Parallel()
	s := ownStack(t, localstack.HeraldOptions{ReconcileEvery: 5 * time.Second, ReconcileAfter: 5 * time.Second})
	mail := s.servers.Mail
	tn := s.tenant(t)
	tn.user("req", "requester@down.test")
	tn.user("ada", "approver@down.test")
	tn.user("own", "owner@down.test", "role", "owner")
	if err := s.servers.Temporal.Kill(); err != nil {
		t.Fatal(err)
	}
	timed := func(what string, f func()) {
		t.Helper()
		start := time.Now()
		f()
		if took := time.Since(start); took > 8*time.Second {
			t.Errorf("%s took %v with Temporal down, want an answer within seconds", what, took)
		}
	}
	var ev accepted
	timed("POST /v1/events", func() { ev = tn.post(assigned("ada", "DOWN-1")) })
	timed("POST /v1/approvals", func() {
		tn.must(201, "POST", "/v1/approvals", map[string]any{"id": "down-1", "title": "Buy a rack", "requester": "req",
			"levels": []any{map[string]any{"approvers": []string{"ada"}, "timeout": "24h"}}}, nil)
	})
	timed("POST /v1/experiments", func() {
		tn.must(201, "POST", "/v1/experiments", map[string]any{"id": "down-exp", "name": "Subject lines",
			"variants": []string{"a", "b"}, "min_sample_size": 10}, nil)
	})
	timed("POST /v1/batches", func() {
		tn.must(201, "POST", "/v1/batches", map[string]any{"id": "down-batch", "expected_jobs": 1,
			"event": map[string]any{"type": "system.notice", "recipients": map[string]any{"users": []string{"own"}},
				"data": map[string]any{"title": "Batch", "message": "all done"}}}, nil)
	})
	timed("POST a job completion", func() {
		tn.must(200, "POST", "/v1/batches/down-batch/jobs/j1/complete", nil, nil)
	})
	time.Sleep(5 * time.Second)
	if err := s.servers.Temporal.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, "the event's email", func() bool { return len(copies(mail, ev.EventID)) == 1 })
	waitFor(t, 2*time.Minute, "the approval request", func() bool {
		return len(ofType(mail, "approval.requested", "approver@down.test")) == 1
	})
	waitFor(t, 2*time.Minute, "the batch's event", func() bool { return len(ofType(mail, "system.notice", "owner@down.test")) == 1 })
	waitFor(t, 2*time.Minute, "the experiment's workflow", func() bool {
		var view struct {
			Status string `json:"status"`
		}
		return tn.do("GET", "/v1/experiments/down-exp", nil, &view) == 200 && view.Status == "running"
	})
	if n := tn.count(`SELECT count(*) FROM workflow_starts WHERE tenant_id = $1`, tn.id); n != 0 {
		t.Errorf("%d workflow starts still owed after Temporal came back", n)
	}
}
