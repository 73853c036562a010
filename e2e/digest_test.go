package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// digestMail returns the digest emails caught for address.
func digestMail(address string) []mailcatch.Message {
	var out []mailcatch.Message
	for _, m := range env.mail.Messages() {
		if t := m.Header["X-Herald-Event-Type"]; len(t) == 1 && t[0] == catalog.Digest && len(m.To) == 1 && m.To[0] == address {
			out = append(out, m)
		}
	}
	return out
}

// onlyDigest waits for a user's email digest window to send and close,
// and returns its one email.
func (tn *tenant) onlyDigest(user, address string) mailcatch.Message {
	tn.t.Helper()
	waitFor(tn.t, time.Minute, "the digest email", func() bool { return len(digestMail(address)) > 0 })
	tn.windowClosed(user, channel.Email)
	mail := digestMail(address)
	if len(mail) != 1 {
		tn.t.Fatalf("%d digest emails, want 1", len(mail))
	}
	return mail[0]
}

// digestUser adds a user whose email goes out as a digest of frequency and
// returns their address, unique across runs of the shared mail catcher.
func (tn *tenant) digestUser(user, frequency string) string {
	tn.t.Helper()
	address := user + "-" + tn.id.String()[:8] + "@example.com"
	tn.putUser(user, address)
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{
		"channels": map[string]any{"email": map[string]any{"frequency": frequency}}}))
	return address
}

// startWindow starts a user's Digest workflow as a test does: with a short
// fixed window (Herald itself never sets one).
func (tn *tenant) startWindow(user string, ch channel.Channel, every time.Duration) {
	tn.t.Helper()
	_, err := env.temporal.SignalWithStartWorkflow(context.Background(), contract.DigestWorkflowID(tn.id, user, ch),
		contract.SignalDigestArm, nil, client.StartWorkflowOptions{TaskQueue: env.cfg.TaskQueue},
		contract.DigestWorkflowName, contract.DigestInput{TenantID: tn.id, UserID: user, Channel: ch, Every: every})
	if err != nil {
		tn.t.Fatal(err)
	}
}

// windowClosed waits for a user's Digest workflow to end (its window closed
// with nothing left).
func (tn *tenant) windowClosed(user string, ch channel.Channel) {
	tn.t.Helper()
	wid := contract.DigestWorkflowID(tn.id, user, ch)
	waitFor(tn.t, time.Minute, "the digest window to close", func() bool {
		d, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
}

func emailOf(t *testing.T, ev eventView, user string) deliveryView {
	t.Helper()
	for _, d := range ev.Deliveries {
		if d.UserID == user && d.Channel == "email" {
			return d
		}
	}
	t.Fatalf("event %s has no email delivery for %s: %+v", ev.EventID, user, ev.Deliveries)
	return deliveryView{}
}

// TestDigestCollectsAWindowIntoOneEmail: a user on a digest gets one email
// per window listing every notification of it; in-app and urgent events
// stay immediate, and an event cancelled while it waits is never listed.
func TestDigestCollectsAWindowIntoOneEmail(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "dig-1"
	address := tn.digestUser(user, "hourly")
	tn.startWindow(user, channel.Email, 8*time.Second)

	var keys []string
	var evs []accepted
	for i := 1; i <= 3; i++ {
		key := fmt.Sprintf("DIG-%d", i)
		keys = append(keys, key)
		evs = append(evs, tn.assign(user, key))
	}
	urgent := tn.postEvent(map[string]any{"type": "issue.assigned", "urgent": true,
		"recipients": map[string]any{"users": []string{user}}, "data": map[string]any{"issue_key": "DIG-URGENT"}})
	for _, e := range evs {
		ev := tn.waitEvent(e.EventID)
		if d := emailOf(t, ev, user); d.Status != "skipped" || d.Reason != "digested" {
			t.Fatalf("event %s email: %+v, want skipped/digested", e.EventID, d)
		}
		if n := len(mailFor(e.EventID)); n != 0 {
			t.Fatalf("a digested event sent %d emails of its own", n)
		}
	}
	if msg := onlyMail(t, urgent.EventID); msg.To[0] != address {
		t.Fatalf("urgent email went to %v", msg.To)
	}
	if n := count(t, `SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2`, tn.id, user); n != 4 {
		t.Fatalf("%d inbox items, want 4: in-app stays immediate", n)
	}
	tn.must(200, tn.do("DELETE", "/v1/events/"+evs[1].EventID, nil))

	waitFor(t, time.Minute, "the digest email", func() bool { return len(digestMail(address)) > 0 })
	tn.windowClosed(user, channel.Email)
	recordHistory(t, contract.DigestWorkflowID(tn.id, user, channel.Email), "digest_window")
	mail := digestMail(address)
	if len(mail) != 1 {
		t.Fatalf("%d digest emails, want 1", len(mail))
	}
	m := mail[0]
	if m.Subject != "Your hourly digest: 2 notifications" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, key := range []string{keys[0], keys[2]} {
		if !strings.Contains(m.Text, key+" was assigned to you") || !strings.Contains(m.HTML, key+" was assigned to you") {
			t.Errorf("digest does not list %s:\n%s", key, m.Text)
		}
	}
	if strings.Contains(m.Text, keys[1]) || strings.Contains(m.Text, "DIG-URGENT") {
		t.Errorf("digest lists a cancelled or urgent event:\n%s", m.Text)
	}
	if !strings.Contains(m.Text, "Issues (2)") {
		t.Errorf("digest does not group by category:\n%s", m.Text)
	}
	// Its unsubscribe stops the categories it lists, as one-click.
	link := unsubscribeLink(t, m)
	if page := visit(t, "GET", link, "", ""); page.status != 200 || !strings.Contains(page.body, "issues") {
		t.Errorf("digest unsubscribe page: %d %s", page.status, page.body)
	}

	// Each listed item points at the digest's delivery, which is delivered.
	digestID := m.Header["X-Herald-Delivery-Id"][0]
	for _, e := range []accepted{evs[0], evs[2]} {
		d := emailOf(t, tn.event(e.EventID), user)
		if d.DigestID == nil || *d.DigestID != digestID {
			t.Errorf("item of %s lists digest %v, want %s", e.EventID, d.DigestID, digestID)
		}
	}
	if d := emailOf(t, tn.event(evs[1].EventID), user); d.Status != "cancelled" || d.DigestID != nil {
		t.Errorf("cancelled item: %+v", d)
	}
	digestEvent := tn.event(m.Header["X-Herald-Event-Id"][0])
	if digestEvent.Type != catalog.Digest || digestEvent.Status != "delivered" || len(digestEvent.Deliveries) != 1 || digestEvent.Deliveries[0].Status != "delivered" {
		t.Errorf("digest event: %+v", digestEvent)
	}
	if n := count(t, `SELECT count(*) FROM digest_windows WHERE tenant_id = $1 AND user_id = $2 AND state = 'idle'`, tn.id, user); n != 1 {
		t.Errorf("window not idle after its workflow closed it")
	}
	// The digest type is Herald's own: clients cannot post it.
	r := tn.do("POST", "/v1/events", map[string]any{"type": catalog.Digest, "recipients": map[string]any{"users": []string{user}}})
	if r.status != 422 || r.errCode() != "internal_event_type" {
		t.Errorf("posting a digest: %d %s", r.status, r.raw)
	}
}

// TestDigestArmsOnceAndFlushesOnImmediate: the first digested item of an
// idle window starts the user's workflow through the worker's armer; later
// items cost no Temporal call; switching back to immediate sends what waits
// at once.
func TestDigestArmsOnceAndFlushesOnImmediate(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "dig-arm"
	address := tn.digestUser(user, "weekly")
	first := tn.assign(user, "ARM-1")
	tn.waitEvent(first.EventID)
	wid := contract.DigestWorkflowID(tn.id, user, channel.Email)
	waitFor(t, 30*time.Second, "the armer to start the window's workflow", func() bool {
		d, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING &&
			count(t, `SELECT count(*) FROM digest_windows WHERE tenant_id = $1 AND user_id = $2 AND state = 'armed'`, tn.id, user) == 1
	})
	for i := 2; i <= 4; i++ {
		tn.waitEvent(tn.assign(user, fmt.Sprintf("ARM-%d", i)).EventID)
	}
	time.Sleep(2 * time.Second) // armer passes that would signal, if it did
	if n := signalsIn(t, wid, contract.SignalDigestArm); n != 1 {
		t.Fatalf("%d arm signals for four items of one window, want 1", n)
	}
	if len(digestMail(address)) != 0 {
		t.Fatal("a weekly digest went out early")
	}

	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{
		"channels": map[string]any{"email": map[string]any{"frequency": "immediate"}}}))
	waitFor(t, 30*time.Second, "the flushed digest", func() bool { return len(digestMail(address)) > 0 })
	tn.windowClosed(user, channel.Email)
	recordHistory(t, wid, "digest_flush")
	mail := digestMail(address)
	if len(mail) != 1 || mail[0].Subject != "Your digest: 4 notifications" {
		t.Fatalf("flushed %d digests: %v", len(mail), subjects(mail))
	}
	// Immediate again: the next event is an email of its own.
	next := tn.assign(user, "ARM-5")
	tn.waitEvent(next.EventID)
	onlyMail(t, next.EventID)
}

// TestDigestOfThousandsWhileItemsArrive: 5,000 items in one window, and
// more arriving while it closes: every item is listed by exactly one
// digest, none is lost, and a long digest shows the newest and counts the
// rest.
func TestDigestOfThousandsWhileItemsArrive(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "dig-many"
	address := tn.digestUser(user, "daily")
	// 5,000 digested items, written as their pages would have.
	ctx := context.Background()
	_, err := env.pool.Exec(ctx, `
		WITH evs AS (
			INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, data, workflow_id, status, started_at, created_at)
			SELECT gen_random_uuid(), $1, 'issue.assigned', 'bulk-' || g, '\x00', '{"users":["dig-many"]}',
			       jsonb_build_object('issue_key', 'BULK-' || g), 'bulk', 'skipped', now(), now() - (g || ' seconds')::interval
			FROM generate_series(1, 5000) g RETURNING id, tenant_id)
		INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status, reason)
		SELECT tenant_id, id, 'dig-many', 'email', 'skipped', 'digested' FROM evs`, tn.id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.pool.Exec(ctx, `INSERT INTO digest_windows (tenant_id, user_id, channel, state) VALUES ($1, $2, 'email', 'armed')`, tn.id, user); err != nil {
		t.Fatal(err)
	}
	tn.startWindow(user, channel.Email, time.Second)
	// Items keep coming across the window's closes.
	var wg sync.WaitGroup
	var posted []accepted
	var mu sync.Mutex
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				e := tn.assign(user, fmt.Sprintf("LIVE-%s", uuid.NewString()[:6]))
				mu.Lock()
				posted = append(posted, e)
				mu.Unlock()
				time.Sleep(150 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	for _, e := range posted {
		tn.waitEvent(e.EventID)
	}
	tn.windowClosed(user, channel.Email)
	total := 5000 + len(posted)
	if n := count(t, `SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND user_id = $2 AND reason = 'digested' AND digest_id IS NULL`, tn.id, user); n != 0 {
		t.Fatalf("%d items never listed", n)
	}
	if n := count(t, `SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND user_id = $2 AND reason = 'digested' AND digest_id IS NOT NULL`, tn.id, user); n != total {
		t.Fatalf("%d items listed, want %d", n, total)
	}
	mail := digestMail(address)
	sum := 0
	for _, m := range mail {
		match := digestSubject.FindStringSubmatch(m.Subject)
		if match == nil {
			t.Fatalf("subject %q", m.Subject)
		}
		n, _ := strconv.Atoi(strings.ReplaceAll(match[1], ",", ""))
		sum += n
		digestID := m.Header["X-Herald-Delivery-Id"][0]
		if listed := count(t, `SELECT count(*) FROM deliveries WHERE digest_id = $1`, digestID); listed != n {
			t.Errorf("digest says %d, lists %d", n, listed)
		}
		if n > 50 && !strings.Contains(m.Text, fmt.Sprintf("…and %s more", grouped(n-50))) {
			t.Errorf("a digest of %d does not count the rest:\n%.400s", n, m.Text)
		}
	}
	if sum != total {
		t.Fatalf("digests list %d items in %d emails, want %d", sum, len(mail), total)
	}
	if len(mail) < 2 {
		t.Fatalf("one digest of %d: no window closed while items arrived", sum)
	}
	t.Logf("%d items in %d digests: %v", sum, len(mail), subjects(mail))
}

var digestSubject = regexp.MustCompile(`^Your daily digest: ([\d,]+) notifications?$`)

// TestDigestPerChannel: a daily email digest and an hourly Slack digest at
// once, each its own window and workflow.
func TestDigestPerChannel(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const user = "dig-both"
	address, dm := user+"-"+tn.id.String()[:8]+"@example.com", "UDIG"+strings.ToUpper(tn.id.String()[:6])
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e"}))
	tn.putUser(user, address, "slack_user_id", dm)
	tn.must(200, tn.do("PUT", "/v1/users/"+user+"/preferences", map[string]any{"channels": map[string]any{
		"email": map[string]any{"frequency": "daily"}, "slack": map[string]any{"frequency": "hourly"}}}))
	tn.startWindow(user, channel.Email, 6*time.Second)
	tn.startWindow(user, channel.Slack, 3*time.Second)
	a, b := tn.assign(user, "BOTH-1"), tn.assign(user, "BOTH-2")
	for _, e := range []accepted{a, b} {
		ev := tn.waitEvent(e.EventID)
		for _, d := range ev.Deliveries {
			if (d.Channel == "email" || d.Channel == "slack") && d.Reason != "digested" {
				t.Fatalf("%s delivery %+v, want digested", d.Channel, d)
			}
		}
	}
	tn.windowClosed(user, channel.Slack)
	tn.windowClosed(user, channel.Email)
	posts := slackPosts(dm)
	if len(posts) != 1 || !strings.Contains(posts[0].Text, "Your hourly digest: 2 notifications") {
		t.Fatalf("Slack DMs: %+v", posts)
	}
	raw, _ := json.Marshal(posts[0].Blocks)
	if !strings.Contains(string(raw), "BOTH-1 was assigned to you") || !strings.Contains(string(raw), "BOTH-2 was assigned to you") {
		t.Errorf("Slack digest does not list both: %s", raw)
	}
	if mail := digestMail(address); len(mail) != 1 || mail[0].Subject != "Your daily digest: 2 notifications" {
		t.Fatalf("email digests: %v", subjects(mail))
	}
}

// grouped writes n with thousands separators, as the templates do.
func grouped(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// signalsIn counts the signals named name in every run of a workflow.
func signalsIn(t *testing.T, workflowID, name string) int {
	t.Helper()
	n := 0
	for _, ev := range historyOf(t, workflowID) {
		if s := ev.GetWorkflowExecutionSignaledEventAttributes(); s != nil && s.GetSignalName() == name {
			n++
		}
	}
	return n
}

// timersFired counts the timers that fired in a workflow's history.
func timersFired(t *testing.T, workflowID string) int {
	t.Helper()
	n := 0
	for _, ev := range historyOf(t, workflowID) {
		if ev.GetTimerFiredEventAttributes() != nil {
			n++
		}
	}
	return n
}

func subjects(ms []mailcatch.Message) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Subject)
	}
	return out
}

// TestDigestWindowPlans: a window closes at the user's cadence in their
// zone, after their quiet hours when it would end inside them, and at once
// for a user back on immediate or gone.
func TestDigestWindowPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("plan-berlin", "plan-berlin@example.com", "timezone", "Europe/Berlin")
	tn.putUser("plan-quiet", "plan-quiet@example.com", "timezone", "Europe/Berlin")
	tn.putUser("plan-now", "plan-now@example.com")
	tn.must(200, tn.do("PUT", "/v1/users/plan-berlin/preferences", map[string]any{
		"channels": map[string]any{"email": map[string]any{"frequency": "daily"}}}))
	tn.must(200, tn.do("PUT", "/v1/users/plan-quiet/preferences", map[string]any{
		"channels":    map[string]any{"email": map[string]any{"frequency": "weekly"}},
		"quiet_hours": map[string]any{"enabled": true, "start": "07:30", "end": "10:15"}}))
	acts := activities.New(env.pool)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		user, opened string
		want         string
		quiet        bool
	}{
		// 09:00 CEST the next morning, the day DST starts.
		{"plan-berlin", "2026-03-28T12:00:00Z", "2026-03-29T07:00:00Z", false},
		// Monday 09:00 falls in quiet hours (07:30-10:15 in the user's
		// zone): the window waits for them to end.
		{"plan-quiet", "2026-06-03T12:00:00Z", "2026-06-08T08:15:00Z", true},
		{"plan-now", "2026-06-03T12:00:00Z", "2026-06-03T12:00:00Z", false},
		{"plan-gone", "2026-06-03T12:00:00Z", "2026-06-03T12:00:00Z", false},
	}
	for _, c := range cases {
		opened := at(c.opened)
		plan, err := acts.PlanDigest(ctx, activities.PlanDigestInput{
			DigestWindow: activities.DigestWindow{TenantID: tn.id, UserID: c.user, Channel: channel.Email},
			Opened:       opened, AsOf: opened})
		if err != nil {
			t.Fatal(err)
		}
		if !plan.CloseAt.Equal(at(c.want)) || plan.Quiet != c.quiet {
			t.Errorf("%s: closes %s (quiet %v), want %s (quiet %v)", c.user, plan.CloseAt.UTC().Format(time.RFC3339), plan.Quiet, c.want, c.quiet)
		}
	}
}

// TestDigestSurvivesAWorkerRestart: a window is a durable timer, not a
// process. Its worker stops while the window is open and starts again
// after the close: the digest goes out once, with every item.
func TestDigestSurvivesAWorkerRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const queue = "herald-digest-restart"
	start := func() *localstack.Herald {
		h, err := env.servers.StartHeraldWith(ctx, localstack.HeraldOptions{TaskQueue: queue}, logger)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := start()
	tn := newTenantOn(t, h.API.URL)
	const user = "dig-restart"
	address := tn.digestUser(user, "hourly")
	wid := contract.DigestWorkflowID(tn.id, user, channel.Email)
	if _, err := env.temporal.SignalWithStartWorkflow(ctx, wid, contract.SignalDigestArm, nil,
		client.StartWorkflowOptions{TaskQueue: queue}, contract.DigestWorkflowName,
		contract.DigestInput{TenantID: tn.id, UserID: user, Channel: channel.Email, Every: 12 * time.Second}); err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	a, b := tn.assign(user, "RST-1"), tn.assign(user, "RST-2")
	tn.waitEvent(a.EventID)
	tn.waitEvent(b.EventID)
	h.Stop()
	if time.Since(opened) > 10*time.Second {
		t.Skip("the machine is too slow to stop the worker inside the window")
	}
	// The window's close is a server-side timer: it fires with no worker,
	// and the digest waits for one.
	waitFor(t, time.Minute, "the window's timer to fire with no worker running", func() bool {
		return timersFired(t, wid) > 0
	})
	if len(digestMail(address)) != 0 {
		t.Fatal("a digest went out with no worker")
	}
	h = start()
	defer h.Stop()
	tn.windowClosed(user, channel.Email)
	mail := digestMail(address)
	if len(mail) != 1 || mail[0].Subject != "Your hourly digest: 2 notifications" {
		t.Fatalf("digests after the restart: %v", subjects(mail))
	}
}
