package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// collapsedMail returns the collapsed notifications caught for address.
func collapsedMail(address string) []mailcatch.Message {
	return mailOfType(address, catalog.Collapsed)
}

// postAll posts bodies at once and returns their event IDs in order.
func (tn *tenant) postAll(bodies []map[string]any) []string {
	tn.t.Helper()
	ids := make([]string, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := tn.do("POST", "/v1/events", b); r.status == 202 {
				ids[i] = unmarshalAs[accepted](tn.t, r.raw).EventID
			} else {
				tn.t.Errorf("posting %v: %d %s", b, r.status, r.raw)
			}
		}()
	}
	wg.Wait()
	if tn.t.Failed() {
		tn.t.FailNow()
	}
	return ids
}

func comment(user, issue, author, key string) map[string]any {
	return map[string]any{"type": "issue.commented", "recipients": map[string]any{"users": []string{user}},
		"data": map[string]any{"issue_key": issue, "author": author}, "group_key": key, "group_window": "10s"}
}

// TestCollapseByKey: five comments on one issue and two on another, posted
// at once to one user with a 10 s window, reach them as exactly two emails,
// one per key, each naming how many it stands for; every event's email
// delivery says it was collapsed and links to the email that carried it,
// the window's workflow was started once, not once per event, and the inbox
// shows the first comment of each key.
func TestCollapseByKey(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "col-1"
	address := user + "-" + tn.id.String()[:8] + "@example.com"
	tn.putUser(user, address)

	type post struct{ issue, author, key string }
	var posts []post
	for _, a := range []string{"Ada", "Brian", "Cleo", "Dan", "Eve"} {
		posts = append(posts, post{"PROJ-A", a, "proj-a-comments"})
	}
	for _, a := range []string{"Fay", "Gus"} {
		posts = append(posts, post{"PROJ-B", a, "proj-b-comments"})
	}
	var bodies []map[string]any
	for _, p := range posts {
		bodies = append(bodies, comment(user, p.issue, p.author, p.key))
	}
	ids := tn.postAll(bodies)
	for _, id := range ids {
		ev := tn.waitEvent(id)
		if d := emailOf(t, ev, user); d.Status != "skipped" || d.Reason != "collapsed" {
			t.Fatalf("event %s email: %+v, want skipped/collapsed", id, d)
		}
		if n := len(mailFor(id)); n != 0 {
			t.Fatalf("a collapsed event sent %d emails of its own", n)
		}
	}

	waitFor(t, time.Minute, "two collapsed emails", func() bool { return len(collapsedMail(address)) >= 2 })
	wa := contract.CollapseWorkflowID(tn.id, user, channel.Email, contract.Group{Type: "issue.commented", Key: "proj-a-comments"})
	wb := contract.CollapseWorkflowID(tn.id, user, channel.Email, contract.Group{Type: "issue.commented", Key: "proj-b-comments"})
	for _, wid := range []string{wa, wb} {
		waitFor(t, time.Minute, "the collapse window to close", func() bool {
			d, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
			return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
		})
	}
	recordHistory(t, wa, "collapse_window")
	time.Sleep(2 * time.Second) // an armer pass that would send a third, if one did
	mail := collapsedMail(address)
	if len(mail) != 2 {
		t.Fatalf("%d collapsed emails, want 2 (one per key): %v", len(mail), subjects(mail))
	}
	byIssue := map[string]mailcatch.Message{}
	for _, m := range mail {
		for _, issue := range []string{"PROJ-A", "PROJ-B"} {
			if strings.Contains(m.Subject, issue) {
				if _, dup := byIssue[issue]; dup {
					t.Fatalf("two emails for %s: %v", issue, subjects(mail))
				}
				byIssue[issue] = m
			}
		}
	}
	want := map[string]struct {
		subject, count string
		authors        []string
	}{
		"PROJ-A": {"New comment on PROJ-A (and 4 more)", "5 notifications", []string{"Ada", "Brian", "Cleo", "Dan", "Eve"}},
		"PROJ-B": {"New comment on PROJ-B (and 1 more)", "2 notifications", []string{"Fay", "Gus"}},
	}
	for issue, w := range want {
		m, ok := byIssue[issue]
		if !ok {
			t.Fatalf("no collapsed email for %s: %v", issue, subjects(mail))
		}
		if m.Subject != w.subject {
			t.Errorf("%s subject %q, want %q", issue, m.Subject, w.subject)
		}
		if !strings.Contains(m.Text, w.count) {
			t.Errorf("%s text does not name the count %q:\n%s", issue, w.count, m.Text)
		}
		for _, a := range w.authors {
			if !strings.Contains(m.Text, a+" commented on "+issue) {
				t.Errorf("%s text does not list %s's comment:\n%s", issue, a, m.Text)
			}
		}
		other := "PROJ-B"
		if issue == "PROJ-B" {
			other = "PROJ-A"
		}
		if strings.Contains(m.Text, other) {
			t.Errorf("two keys merged: the %s email lists %s:\n%s", issue, other, m.Text)
		}
	}
	// Each event's email delivery points at the email that carried it.
	for i, id := range ids {
		d := emailOf(t, tn.event(id), user)
		carrier := byIssue[posts[i].issue].Header["X-Herald-Delivery-Id"][0]
		if d.DigestID == nil || *d.DigestID != carrier {
			t.Errorf("event %s (%s) links %v, want %s", id, posts[i].issue, d.DigestID, carrier)
		}
	}
	// The first event opened the window; the others joined it with a row.
	if n := signalsIn(t, wa, contract.SignalDigestArm); n != 1 {
		t.Errorf("%d arm signals for five events of one window, want 1", n)
	}
	// In-app shows the first event of each key at once; the others of its
	// window are skipped as collapsed, whichever of the concurrent posts won.
	if n := count(t, `SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2`, tn.id, user); n != 2 {
		t.Errorf("%d inbox items, want 2 (the first of each key)", n)
	}
	shown := map[string]int{}
	for i, id := range ids {
		for _, d := range tn.event(id).Deliveries {
			switch {
			case d.Channel != "in_app":
			case d.Status == "delivered":
				shown[posts[i].issue]++
			case d.Status != "skipped" || d.Reason != "collapsed":
				t.Errorf("event %s in-app: %+v, want delivered or skipped/collapsed", id, d)
			}
		}
	}
	if shown["PROJ-A"] != 1 || shown["PROJ-B"] != 1 {
		t.Errorf("in-app items shown per key: %v, want one each", shown)
	}
}

// TestCollapseRefusesBadGroups: a bad group_key or group_window is a 400
// naming the field, and stores nothing.
func TestCollapseRefusesBadGroups(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "col-bad"
	tn.putUser(user, user+"-"+tn.id.String()[:8]+"@example.com")
	long := strings.Repeat("k", 201)
	cases := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"key without window", func(b map[string]any) { delete(b, "group_window") }, "group_window"},
		{"window without key", func(b map[string]any) { delete(b, "group_key") }, "group_key"},
		{"empty key", func(b map[string]any) { b["group_key"] = "" }, "group_key"},
		{"key too long", func(b map[string]any) { b["group_key"] = long }, "group_key"},
		{"window not a duration", func(b map[string]any) { b["group_window"] = "soon" }, "group_window"},
		{"window too short", func(b map[string]any) { b["group_window"] = "9s" }, "group_window"},
		{"window too long", func(b map[string]any) { b["group_window"] = "25h" }, "group_window"},
		{"window in fractions", func(b map[string]any) { b["group_window"] = "10.5s" }, "group_window"},
		{"window a number", func(b map[string]any) { b["group_window"] = 600 }, ""},
	}
	for i, c := range cases {
		b := comment(user, "PROJ-X", "Ada", "k")
		b["idempotency_key"] = fmt.Sprintf("bad-%d", i)
		c.edit(b)
		r := tn.do("POST", "/v1/events", b)
		if r.status != 400 {
			t.Errorf("%s: %d %s, want 400", c.name, r.status, r.raw)
			continue
		}
		if f, _ := r.errorBody().Error.Details["field"].(string); c.field != "" && (r.errCode() != "invalid_field" || f != c.field) {
			t.Errorf("%s: %s, want invalid_field on %s", c.name, r.raw, c.field)
		}
	}
	if n := count(t, `SELECT count(*) FROM events WHERE tenant_id = $1`, tn.id); n != 0 {
		t.Errorf("%d events stored from bad posts", n)
	}
	// The bounds themselves are accepted.
	for _, w := range []string{"10s", "24h"} {
		b := comment(user, "PROJ-X", "Ada", strings.Repeat("k", 200))
		b["group_window"] = w
		tn.must(202, tn.do("POST", "/v1/events", b))
	}
}

// TestCollapseWindowSteps drives a collapse window's steps over the real
// database, as its workflow would (the window is an hour long, so the
// workflow the armer started is still asleep): concurrent events of one key
// share one window row; another key and another type with the same key get
// windows of their own; the window closes an hour after its first item; a
// retried listing returns the notification it made and loses no item; an
// item that joins after the listing keeps the window open for a next one.
func TestCollapseWindowSteps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	const user = "col-steps"
	tn.putUser(user, user+"-"+tn.id.String()[:8]+"@example.com")
	hourly := func(typ, key, author string) map[string]any {
		b := comment(user, "PROJ-S", author, key)
		b["type"], b["group_window"] = typ, "1h"
		return b
	}
	var bodies []map[string]any
	for i := range 7 {
		bodies = append(bodies, hourly("issue.commented", "A", fmt.Sprintf("Author%d", i)))
	}
	bodies = append(bodies, hourly("issue.commented", "B", "Other"), hourly("issue.mentioned", "A", "Mentioner"))
	ids := tn.postAll(bodies)
	for _, id := range ids {
		tn.waitEvent(id)
	}
	if n := count(t, `SELECT count(*) FROM digest_windows WHERE tenant_id = $1 AND user_id = $2 AND channel = 'email'`, tn.id, user); n != 3 {
		t.Fatalf("%d windows, want 3: (commented, A), (commented, B), (mentioned, A)", n)
	}
	if n := count(t, `SELECT seq::int FROM digest_windows WHERE tenant_id = $1 AND user_id = $2 AND group_type = 'issue.commented' AND group_key = 'A'`, tn.id, user); n != 7 {
		t.Fatalf("window A counted %d pages, want 7", n)
	}

	acts := activities.New(env.pool)
	w := activities.DigestWindow{TenantID: tn.id, UserID: user, Channel: channel.Email, GroupType: "issue.commented", GroupKey: "A"}
	var first time.Time
	if err := env.pool.QueryRow(ctx, `SELECT min(d.created_at) FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.tenant_id = $1 AND d.channel = 'email' AND e.type = 'issue.commented' AND e.group_key = 'A'`, tn.id).Scan(&first); err != nil {
		t.Fatal(err)
	}
	plan, err := acts.PlanDigest(ctx, activities.PlanDigestInput{DigestWindow: w, Opened: time.Now(), AsOf: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.CloseAt.Equal(first.Add(time.Hour)) {
		t.Fatalf("window closes at %s, want its first item's time plus an hour, %s", plan.CloseAt, first.Add(time.Hour))
	}

	closeAt := time.Now().UTC().Truncate(time.Second)
	in := activities.PrepareDigestInput{DigestWindow: w, CloseAt: closeAt, WorkflowID: "collapse-steps-test"}
	prep, err := acts.PrepareDigest(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := acts.PrepareDigest(ctx, in) // a retried step
	if err != nil {
		t.Fatal(err)
	}
	if prep.Items != 7 || again.EventID != prep.EventID || again.DeliveryID != prep.DeliveryID || again.Items != 7 {
		t.Fatalf("listing %+v, retried %+v: want the same notification of 7 items", prep, again)
	}
	if n := count(t, `SELECT count(*) FROM deliveries WHERE digest_id = $1`, prep.DeliveryID); n != 7 {
		t.Fatalf("%d items link the notification, want 7", n)
	}
	if n := count(t, `SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND channel = 'email' AND reason = 'collapsed' AND digest_id IS NULL`, tn.id); n != 2 {
		t.Fatalf("%d items still wait, want 2 (key B, and key A of another type): keys never merge", n)
	}
	ev := tn.event(prep.EventID.String())
	var data struct {
		Title  string `json:"title"`
		Total  int    `json:"total"`
		Others int    `json:"others"`
		More   int    `json:"more"`
		Items  []struct {
			Body string `json:"body"`
		} `json:"items"`
	}
	if err := json.Unmarshal(ev.Data, &data); err != nil {
		t.Fatal(err)
	}
	if ev.Type != catalog.Collapsed || data.Total != 7 || data.Others != 6 || data.More != 2 || len(data.Items) != activities.MaxCollapsed ||
		data.Title != "New comment on PROJ-S" {
		t.Fatalf("notification %s: %s", ev.Type, ev.Data)
	}

	// One more joins after the listing: the window must not close.
	tn.waitEvent(tn.postEvent(hourly("issue.commented", "A", "Late")).EventID)
	if closed, err := acts.CloseDigestWindow(ctx, w, prep.Seq); err != nil || closed {
		t.Fatalf("window closed (%v, %v) with an item that came after its listing", closed, err)
	}
	in.CloseAt = closeAt.Add(time.Second)
	next, err := acts.PrepareDigest(ctx, in)
	if err != nil || next.Items != 1 || next.EventID == prep.EventID {
		t.Fatalf("next window: %+v, %v: want a new notification of the late item", next, err)
	}
	if closed, err := acts.CloseDigestWindow(ctx, w, next.Seq); err != nil || !closed {
		t.Fatalf("window did not close (%v, %v) with nothing left", closed, err)
	}
}

// TestCollapseOnTheUsersWebhook: a user's own webhook gets one signed call
// for a window of three events, whose data counts them.
func TestCollapseOnTheUsersWebhook(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	hook := newHookServer(t)
	const user = "col-hook"
	tn.putUser(user, user+"-"+tn.id.String()[:8]+"@example.com")
	if _, r := tn.putUserHook(user, map[string]any{"url": hook.URL + "/" + user}); r.status != 200 {
		t.Fatalf("PUT the user's endpoint: %d %s", r.status, r.raw)
	}
	var ids []string
	for _, a := range []string{"Ada", "Brian", "Cleo"} {
		ids = append(ids, tn.postEvent(comment(user, "PROJ-W", a, "w")).EventID)
	}
	for _, id := range ids {
		ev := tn.waitEvent(id)
		for _, d := range ev.Deliveries {
			if d.Channel == "webhook" && (d.Status != "skipped" || d.Reason != "collapsed") {
				t.Fatalf("event %s webhook: %+v, want skipped/collapsed", id, d)
			}
		}
	}
	if n := len(hook.calls()); n != 0 {
		t.Fatalf("%d webhook calls before the window closed", n)
	}
	posted := decodeAs[struct {
		GroupKey    string `json:"group_key"`
		GroupWindow string `json:"group_window"`
	}](t, tn.must(200, tn.do("GET", "/v1/events/"+ids[0], nil)))
	if posted.GroupKey != "w" || posted.GroupWindow != "10s" {
		t.Errorf("GET /v1/events shows group %+v, want w / 10s", posted)
	}
	waitFor(t, time.Minute, "the collapsed webhook call", func() bool { return len(hook.calls()) > 0 })
	wid := contract.CollapseWorkflowID(tn.id, user, channel.Webhook, contract.Group{Type: "issue.commented", Key: "w"})
	waitFor(t, time.Minute, "the collapse window to close", func() bool {
		d, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
	})
	time.Sleep(2 * time.Second)
	calls := hook.calls()
	if len(calls) != 1 {
		t.Fatalf("%d webhook calls, want 1", len(calls))
	}
	var payload struct {
		EventType string `json:"event_type"`
		UserID    string `json:"user_id"`
		Data      struct {
			Type     string `json:"type"`
			GroupKey string `json:"group_key"`
			Total    int    `json:"total"`
			Items    []any  `json:"items"`
		} `json:"data"`
	}
	if err := json.Unmarshal(calls[0].body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload.EventType != catalog.Collapsed || payload.UserID != user || payload.Data.Total != 3 || len(payload.Data.Items) != 3 ||
		payload.Data.Type != "issue.commented" || payload.Data.GroupKey != "w" {
		t.Fatalf("webhook payload: %s", calls[0].body)
	}
	address := user + "-" + tn.id.String()[:8] + "@example.com"
	waitFor(t, time.Minute, "the collapsed email", func() bool { return len(collapsedMail(address)) > 0 })
	if n := len(collapsedMail(address)); n != 1 {
		t.Errorf("%d collapsed emails, want 1", n)
	}
}

// TestCollapseNeverHoldsAnUrgentEvent: an urgent event with a group_key goes
// out at once, on its own.
func TestCollapseNeverHoldsAnUrgentEvent(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "col-urgent"
	tn.putUser(user, user+"-"+tn.id.String()[:8]+"@example.com")
	b := comment(user, "PROJ-U", "Ada", "u")
	b["urgent"] = true
	id := tn.postEvent(b).EventID
	if d := emailOf(t, tn.waitEvent(id), user); d.Status != "delivered" || d.Reason != "" {
		t.Fatalf("urgent email: %+v, want delivered at once", d)
	}
	if m := onlyMail(t, id); m.Subject != "New comment on PROJ-U" {
		t.Errorf("urgent email subject %q", m.Subject)
	}
}

// TestCollapseOnSlackDMs: three comments with one key reach a user's Slack
// DMs as one message when the window closes, naming the two it stands for;
// each event's Slack delivery says it was collapsed.
func TestCollapseOnSlackDMs(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "col-dm"
	dm := "UCOL" + strings.ToUpper(tn.id.String()[:6])
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e"}))
	tn.putUser(user, user+"-"+tn.id.String()[:8]+"@example.com", "slack_user_id", dm)
	var ids []string
	for _, a := range []string{"Ada", "Brian", "Cleo"} {
		ids = append(ids, tn.postEvent(comment(user, "PROJ-S", a, "s")).EventID)
	}
	for _, id := range ids {
		for _, d := range tn.waitEvent(id).Deliveries {
			if d.Channel == "slack" && (d.Status != "skipped" || d.Reason != "collapsed") {
				t.Fatalf("event %s Slack: %+v, want skipped/collapsed", id, d)
			}
		}
	}
	wid := contract.CollapseWorkflowID(tn.id, user, channel.Slack, contract.Group{Type: "issue.commented", Key: "s"})
	waitFor(t, time.Minute, "the Slack collapse window to close", func() bool {
		d, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
	})
	posts := slackPosts(dm)
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "(and 2 more)") {
		t.Fatalf("Slack DMs: %+v, want one naming the 2 more", posts)
	}
}
