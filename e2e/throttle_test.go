package e2e

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
)

type throttleView struct {
	Max      int    `json:"max"`
	Per      string `json:"per"`
	Overflow string `json:"overflow"`
}

type throttledTypeView struct {
	Key      string        `json:"key"`
	Throttle *throttleView `json:"throttle,omitempty"`
}

// clearOfWindowEdge waits, if a window of per is about to end, until the
// next one has begun: a test that counts on its events sharing one fixed
// window must not straddle two.
func clearOfWindowEdge(t *testing.T, per, margin time.Duration) {
	t.Helper()
	now := time.Now()
	if left := now.Truncate(per).Add(per).Sub(now); left < margin {
		time.Sleep(left + time.Second)
	}
}

// emailAndInApp returns one event's email and in-app deliveries to user,
// as the delivery log shows them.
func (tn *tenant) deliveriesOf(eventID, user string) map[string]deliveryView {
	tn.t.Helper()
	page := decodeAs[listPage[deliveryView]](tn.t, tn.must(200, tn.do("GET", "/v1/deliveries?event_id="+eventID, nil)))
	out := map[string]deliveryView{}
	for _, d := range page.Data {
		if d.UserID == user {
			out[d.Channel] = d
		}
	}
	return out
}

// A throttle of 2 per hour lets exactly 2 of 4 concurrent events through
// to a user: 2 emails arrive, and the other 2 are skipped with reason
// throttled on every channel. Other users keep their own count, channels
// the tenant requires are never throttled, and null lifts the throttle.
func TestThrottleCapsARecipientsNotifications(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ada", "ada-throttle@example.com")
	tn.putUser("bob", "bob-throttle@example.com")

	put := decodeAs[throttledTypeView](t, tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned",
		map[string]any{"throttle": map[string]any{"max": 2, "per": "1h"}})))
	if put.Throttle == nil || *put.Throttle != (throttleView{Max: 2, Per: "1h", Overflow: "skip"}) {
		t.Fatalf("the throttled type: %+v", put.Throttle)
	}

	clearOfWindowEdge(t, time.Hour, 30*time.Second)
	ids := make([]string, 4)
	answers := make([]response, 4)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = tn.do("POST", "/v1/events", assignEvent(fmt.Sprint("throttle-", i), "ada"))
		}()
	}
	wg.Wait()
	for i, r := range answers {
		ids[i] = decodeAs[accepted](t, tn.must(202, r)).EventID
	}
	emails, throttled := 0, map[string]int{}
	for _, id := range ids {
		tn.waitEvent(id)
		emails += len(mailFor(id))
		for ch, d := range tn.deliveriesOf(id, "ada") {
			if d.Status == "skipped" && d.Reason == "throttled" {
				throttled[ch]++
			}
		}
	}
	if emails != 2 || throttled["email"] != 2 || throttled["in_app"] != 2 {
		t.Fatalf("4 events under a throttle of 2: %d emails, throttled %v; want 2 emails and 2 throttled on each channel", emails, throttled)
	}
	if n := count(t, "SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = 'ada'", tn.id); n != 2 {
		t.Errorf("ada's inbox has %d items, want 2", n)
	}

	// The preview says ada is at the cap, and bob is not.
	preview := func(user string) (used int, email map[string]any) {
		t.Helper()
		p := decodeAs[map[string]any](t, tn.must(200, tn.do("POST", "/v1/event-types/issue.assigned/preview",
			map[string]any{"user_id": user, "data": map[string]any{"issue_key": "PROJ-9"}})))
		th, _ := p["throttle"].(map[string]any)
		n, _ := th["used"].(float64)
		e, _ := p["channels"].(map[string]any)["email"].(map[string]any)
		return int(n), e
	}
	if used, email := preview("ada"); used != 2 || email["would_send"] != false || email["reason"] != "throttled" {
		t.Errorf("ada's preview at the cap: used %d, email %v; want 2 used and the email throttled", used, email)
	}
	if used, email := preview("bob"); used != 0 || email["would_send"] != true {
		t.Errorf("bob's preview: used %d, email %v; want 0 used and the email sent", used, email)
	}

	// Bob's count is his own.
	acc := tn.postEvent(assignEvent("throttle-bob", "bob"))
	tn.waitEvent(acc.EventID)
	if d := tn.deliveriesOf(acc.EventID, "bob"); d["email"].Status != "delivered" || len(mailFor(acc.EventID)) != 1 {
		t.Errorf("bob, under his cap: %+v", d)
	}

	// What the tenant requires goes out over the cap; the rest does not.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"required": map[string]any{"events": map[string]any{"issue.assigned": []string{"email"}}}}))
	acc = tn.postEvent(assignEvent("throttle-required", "ada"))
	tn.waitEvent(acc.EventID)
	d := tn.deliveriesOf(acc.EventID, "ada")
	if d["email"].Status != "delivered" || len(mailFor(acc.EventID)) != 1 || d["in_app"].Reason != "throttled" {
		t.Errorf("over the cap with email required: email %+v (%d sent), in_app %+v", d["email"], len(mailFor(acc.EventID)), d["in_app"])
	}
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"required": nil}))

	// null lifts the throttle.
	lifted := decodeAs[throttledTypeView](t, tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"throttle": nil})))
	if lifted.Throttle != nil {
		t.Fatalf("throttle after null: %+v", lifted.Throttle)
	}
	acc = tn.postEvent(assignEvent("throttle-lifted", "ada"))
	tn.waitEvent(acc.EventID)
	if d := tn.deliveriesOf(acc.EventID, "ada"); d["email"].Status != "delivered" || d["in_app"].Status != "delivered" {
		t.Errorf("after the throttle was lifted: %+v", d)
	}
}

// Throttles out of bounds are refused in the contract's error shape, and
// change nothing.
func TestThrottleBadDefinitionsAreRefused(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"throttle": map[string]any{"max": 3, "per": "2h"}}))
	versions := count(t, "SELECT count(*) FROM event_type_versions WHERE tenant_id = $1", tn.id)
	for _, tc := range []struct {
		throttle any
		status   int
		code     string
		field    string
	}{
		{map[string]any{"max": 0, "per": "1h"}, 400, "invalid_field", "throttle.max"},
		{map[string]any{"max": 10001, "per": "1h"}, 400, "invalid_field", "throttle.max"},
		{map[string]any{"max": 2, "per": "30s"}, 400, "invalid_field", "throttle.per"},
		{map[string]any{"max": 2, "per": "31d"}, 400, "invalid_field", "throttle.per"},
		{map[string]any{"max": 2, "per": "hourly"}, 400, "invalid_field", "throttle.per"},
		{map[string]any{"max": 2}, 400, "invalid_field", "throttle.per"},
		{map[string]any{"max": 2, "per": "1h", "overflow": "queue"}, 400, "invalid_field", "throttle.overflow"},
		{map[string]any{"max": 2, "per": "1h", "overflow": "Digest"}, 400, "invalid_field", "throttle.overflow"},
		{map[string]any{"max": 2, "per": "1h", "burst": 5}, 400, "unknown_field", ""},
		{map[string]any{"max": "2", "per": "1h"}, 400, "", ""},
		{map[string]any{"max": 2.5, "per": "1h"}, 400, "", ""},
	} {
		r := tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"throttle": tc.throttle})
		e := r.errorBody().Error
		if r.status != tc.status || (tc.code != "" && e.Code != tc.code) || e.Message == "" ||
			(tc.field != "" && fmt.Sprint(e.Details["field"]) != tc.field) {
			t.Errorf("throttle %v: %d %s, want %d %s on %s", tc.throttle, r.status, r.raw, tc.status, tc.code, tc.field)
		}
	}
	got := unmarshalAs[throttleView](t, tn.eventTypeOf("issue.assigned")["throttle"])
	if got != (throttleView{Max: 3, Per: "2h", Overflow: "skip"}) {
		t.Errorf("after refusals the throttle is %+v, want the stored 3 per 2h", got)
	}
	if n := count(t, "SELECT count(*) FROM event_type_versions WHERE tenant_id = $1", tn.id); n != versions {
		t.Errorf("refusals recorded %d versions", n-versions)
	}
	// The version kept names the throttle, so putting it back restores it.
	latest := decodeAs[listPage[struct {
		Definition struct {
			Throttle *throttleView `json:"throttle"`
		} `json:"definition"`
	}]](t, tn.must(200, tn.do("GET", "/v1/event-types/issue.assigned/versions?limit=1", nil)))
	if len(latest.Data) != 1 || latest.Data[0].Definition.Throttle == nil || *latest.Data[0].Definition.Throttle != got {
		t.Errorf("the latest version's throttle: %+v", latest.Data)
	}
}

// The page step counts a throttle with a conditional upsert: 20 events to
// one user, planned at once, let exactly max through, and planning them
// all again (a retried activity) counts nothing twice.
func TestThrottleCountsExactlyMaxUnderConcurrency(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	tn.putUser("cy", "cy-throttle@example.com")
	const max, events = 5, 20
	tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned", map[string]any{"throttle": map[string]any{"max": max, "per": "1h"}}))
	q := dbq.New(env.pool)
	newEvents := func(n int) []uuid.UUID {
		t.Helper()
		ids := make([]uuid.UUID, n)
		for i := range ids {
			ids[i] = uuid.New()
			key := "throttle-race-" + ids[i].String()
			hash := sha256.Sum256([]byte(key))
			if _, err := q.InsertEvent(ctx, dbq.InsertEventParams{ID: ids[i], TenantID: tn.id, Type: "issue.assigned", IdempotencyKey: key,
				RequestHash: hash[:], Recipients: []byte(`{"users":["cy"]}`), Data: []byte(`{"issue_key":"R-1","title":"Race"}`),
				WorkflowID: key}); err != nil {
				t.Fatal(err)
			}
			// No workflow: the reconciler must not start one for it.
			if err := q.MarkEventStarted(ctx, dbq.MarkEventStartedParams{ID: ids[i], RunID: "none"}); err != nil {
				t.Fatal(err)
			}
		}
		return ids
	}
	// In-app only (no senders), in the middle of one hour's window.
	acts := activities.New(env.pool)
	plan := func(ids []uuid.UUID, asOf time.Time) {
		t.Helper()
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = acts.PreparePage(ctx, activities.PageInput{TenantID: tn.id, EventID: id, Limit: 500, Batched: true, AsOf: asOf})
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	check := func(when string, delivered, throttled int) {
		t.Helper()
		d := count(t, "SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND status = 'delivered'", tn.id)
		th := count(t, "SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND status = 'skipped' AND reason = 'throttled'", tn.id)
		if d != delivered || th != throttled {
			t.Fatalf("%s: %d delivered, %d throttled; want %d and %d", when, d, th, delivered, throttled)
		}
	}
	ids := newEvents(events)
	asOf := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	plan(ids, asOf)
	check("20 events at once", max, events-max)
	plan(ids, asOf)
	check("the same 20 planned again", max, events-max)
	if used := count(t, "SELECT used FROM throttle_windows WHERE tenant_id = $1", tn.id); used != max {
		t.Errorf("the window's count is %d after planning twice, want %d", used, max)
	}
	// The next window starts a count of its own.
	plan(newEvents(max+2), asOf.Add(time.Hour))
	check("7 more in the next window", 2*max, events-max+2)
}

// TestThrottleOverflowDigestHoldsTheRest: under a throttle of 2 a minute
// with overflow digest, 5 events posted at once to one user send 2 emails
// and 2 inbox items at once; the other 3 are held (throttled_held) and,
// when the minute ends, reach the user as one herald.collapsed email and
// one inbox item that count them. A page planned again and a duplicate
// post add nothing, and a channel the tenant requires goes at once.
func TestThrottleOverflowDigestHoldsTheRest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	const user = "hold-1"
	address := user + "-" + tn.id.String()[:8] + "@example.com"
	tn.putUser(user, address)
	put := decodeAs[throttledTypeView](t, tn.must(200, tn.do("PUT", "/v1/event-types/issue.assigned",
		map[string]any{"throttle": map[string]any{"max": 2, "per": "1m", "overflow": "digest"}})))
	if put.Throttle == nil || *put.Throttle != (throttleView{Max: 2, Per: "1m", Overflow: "digest"}) {
		t.Fatalf("the throttled type: %+v", put.Throttle)
	}

	// Everything below until the close must fall in one minute's window.
	clearOfWindowEdge(t, time.Minute, 30*time.Second)
	windowEnd := time.Now().Truncate(time.Minute).Add(time.Minute)
	var bodies []map[string]any
	for i := range 5 {
		bodies = append(bodies, assignEvent(fmt.Sprint("hold-", i), user))
	}
	ids := tn.postAll(bodies)
	inbox := func(typ string) int {
		return count(t, "SELECT count(*) FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND type = $3", tn.id, user, typ)
	}
	tally := func() (sent, inApp int, held map[string]int) {
		held = map[string]int{}
		for _, id := range ids {
			sent += len(mailFor(id))
			for ch, d := range tn.deliveriesOf(id, user) {
				switch {
				case ch == "in_app" && d.Status == "delivered":
					inApp++
				case d.Status == "skipped" && d.Reason == "throttled_held":
					held[ch]++
				}
			}
		}
		return sent, inApp, held
	}
	for _, id := range ids {
		tn.waitEvent(id)
	}
	check := func(when string) {
		t.Helper()
		sent, inApp, held := tally()
		if sent != 2 || inApp != 2 || held["email"] != 3 || held["in_app"] != 3 {
			t.Fatalf("%s: %d emails, %d in-app, held %v; want 2, 2 and 3 held on each channel", when, sent, inApp, held)
		}
		if n := inbox("issue.assigned"); n != 2 {
			t.Fatalf("%s: %d inbox items, want 2", when, n)
		}
	}
	check("5 events under a throttle of 2")

	// A page planned again (a retried activity) and a duplicate post
	// count nothing twice and hold nothing twice.
	acts := activities.New(env.pool)
	for _, id := range ids {
		if _, err := acts.PreparePage(ctx, activities.PageInput{TenantID: tn.id, EventID: uuid.MustParse(id),
			Limit: 500, Batched: true, AsOf: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if dup := tn.postEvent(bodies[0]); !dup.Duplicate || dup.EventID != ids[0] {
		t.Fatalf("the same key again: %+v", dup)
	}
	check("planned again")

	// A channel the tenant requires goes at once over the cap; the rest
	// of the event is held with the others.
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"required": map[string]any{"events": map[string]any{"issue.assigned": []string{"email"}}}}))
	req := tn.postEvent(assignEvent("hold-required", user))
	tn.waitEvent(req.EventID)
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{"required": nil}))
	if d := tn.deliveriesOf(req.EventID, user); d["email"].Status != "delivered" || len(mailFor(req.EventID)) != 1 ||
		d["in_app"].Reason != "throttled_held" {
		t.Fatalf("over the cap with email required: %+v", d)
	}
	if time.Now().After(windowEnd) {
		t.Fatal("the events outlasted their window: the test cannot tell a hold from the next window")
	}
	if n := len(collapsedMail(address)); n != 0 {
		t.Fatalf("%d collapsed emails before the window ended", n)
	}

	// At the window's end: one email counting the 3 held, one inbox item
	// counting the 4 held in-app (the required event's too).
	waitFor(t, 2*time.Minute, "the held email", func() bool { return len(collapsedMail(address)) > 0 })
	waitFor(t, time.Minute, "the held inbox item", func() bool { return inbox(catalog.Collapsed) > 0 })
	if time.Now().Before(windowEnd) {
		t.Fatalf("the held notifications went out before the window ended at %v", windowEnd)
	}
	for _, ch := range []channel.Channel{channel.Email, channel.InApp} {
		wid := contract.CollapseWorkflowID(tn.id, user, ch, contract.Group{Type: "issue.assigned", Key: contract.HoldKey})
		waitFor(t, time.Minute, "the "+string(ch)+" hold window to close", func() bool {
			d, err := env.temporal.DescribeWorkflowExecution(ctx, wid, "")
			return err == nil && d.GetWorkflowExecutionInfo().GetCloseTime() != nil
		})
	}
	mail := collapsedMail(address)
	if len(mail) != 1 {
		t.Fatalf("%d held emails, want 1: %v", len(mail), subjects(mail))
	}
	if want := "Fix login bug (and 2 more)"; !strings.Contains(mail[0].Subject, want) || !strings.Contains(mail[0].Text, "3 notifications like this one") {
		t.Errorf("the held email: %q\n%s\nwant a subject with %q and a count of 3", mail[0].Subject, mail[0].Text, want)
	}
	if n := inbox(catalog.Collapsed); n != 1 {
		t.Fatalf("%d held inbox items, want 1", n)
	}
	var body string
	if err := env.pool.QueryRow(ctx, "SELECT body FROM notifications WHERE tenant_id = $1 AND user_id = $2 AND type = $3",
		tn.id, user, catalog.Collapsed).Scan(&body); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, "4 notifications like this one") {
		t.Errorf("the held inbox item:\n%s\nwant a count of 4", body)
	}
	// Each held delivery names the notification that carried it.
	carrier := mail[0].Header["X-Herald-Delivery-Id"][0]
	for _, id := range ids {
		if d := tn.deliveriesOf(id, user)["email"]; d.Reason == "throttled_held" && (d.DigestID == nil || *d.DigestID != carrier) {
			t.Errorf("event %s's held email links %v, want %s", id, d.DigestID, carrier)
		}
	}
	if n := len(mailOfType(address, "issue.assigned")); n != 3 {
		t.Errorf("%d issue.assigned emails in all, want 3 (2 under the cap, 1 required)", n)
	}
}
