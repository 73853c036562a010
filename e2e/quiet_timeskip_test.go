package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/heraldhq/herald/activities"
	"github.com/heraldhq/herald/audience"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/internal/mailer"
	"github.com/heraldhq/herald/workflows"
)

// The tests here run NotifyEvent in Temporal's time-skipping test
// environment, but over the real activities: the decisions are made against
// the real database and the emails go to the real SMTP catcher. Only time is
// simulated, so a wait of a whole weekend takes a second, and the instant an
// email is released can be pinned to the minute, across DST transitions and
// zones with :30 and :45 offsets, which the real-server tests cannot do.

// skipRun is one event's NotifyEvent in a time-skipping environment.
type skipRun struct {
	t       *testing.T
	tn      *tenant
	wf      *testsuite.TestWorkflowEnvironment
	eventID uuid.UUID

	// Written by listeners on the environment's main loop, read by the test.
	mu     sync.Mutex
	sentAt map[uuid.UUID]time.Time // delivery → workflow time its first Deliver started
	starts int                     // Deliver attempts started, local or regular
	timers int                     // durable timers the workflow scheduled
}

// newSkipRun prepares a workflow environment whose clock starts at start,
// with the activities the worker registers, built as the worker builds them.
func newSkipRun(t *testing.T, tn *tenant, start time.Time) *skipRun {
	t.Helper()
	sender, err := mailer.NewRelays([]string{env.mail.URL()}, "Herald <herald@e2e.test>", 2, mailer.RelayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sender.Close)
	var suite testsuite.WorkflowTestSuite
	wf := suite.NewTestWorkflowEnvironment()
	workflows.Register(wf)
	wf.RegisterActivity(activities.New(env.pool, &activities.EmailSender{Mail: sender, Domain: "e2e.test"}))
	wf.SetStartTime(start)
	// The default idle timeout is sized for mocks; these activities do real
	// I/O, a large batch for seconds.
	wf.SetTestTimeout(2 * time.Minute)
	// As the API starts runs: tagged, so the workflow does not tag itself.
	if err := wf.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		contract.AttrTenant.ValueSet(tn.id.String()), contract.AttrEventType.ValueSet("issue.assigned"),
		contract.AttrStatus.ValueSet(string(delivery.EventPending)))); err != nil {
		t.Fatal(err)
	}

	r := &skipRun{t: t, tn: tn, wf: wf, sentAt: map[uuid.UUID]time.Time{}}
	// The mock clock stands still while activities run, so wf.Now() when
	// Deliver starts is the instant the workflow released the batch.
	wf.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		if info.ActivityType.Name != "Deliver" {
			return
		}
		var in activities.DeliverInput
		if err := args.Get(&in); err != nil {
			t.Errorf("decoding Deliver's input: %v", err)
			return
		}
		r.delivering(in)
	})
	// Small batches first go out as a local activity (the fast path).
	wf.SetOnLocalActivityStartedListener(func(info *activity.Info, _ context.Context, args []any) {
		if info.ActivityType.Name != "Deliver" {
			return
		}
		in, ok := args[0].(activities.DeliverInput)
		if !ok {
			t.Errorf("local Deliver's input is %T", args[0])
			return
		}
		r.delivering(in)
	})
	wf.SetOnTimerScheduledListener(func(string, time.Duration) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.timers++
	})
	return r
}

func (r *skipRun) delivering(in activities.DeliverInput) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts++
	for _, id := range in.DeliveryIDs {
		if _, seen := r.sentAt[id]; !seen {
			r.sentAt[id] = r.wf.Now()
		}
	}
}

// released returns when delivery id's first Deliver started.
func (r *skipRun) released(id string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.sentAt[mustUUID(r.t, id)]
	return at, ok
}

func (r *skipRun) counts() (starts, timers int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts, r.timers
}

// storeEvent stores an issue.assigned event for users as intake would. The
// workflow runs here, not on the real server, so the row is marked started:
// the real server's reconciler must leave it alone.
func (r *skipRun) storeEvent(key string, urgent bool, users ...string) {
	r.t.Helper()
	ctx := context.Background()
	users = slices.Sorted(slices.Values(users))
	recipients, err := json.Marshal(audience.Spec{Users: users})
	if err != nil {
		r.t.Fatal(err)
	}
	q := dbq.New(env.pool)
	r.eventID = contract.EventID(r.tn.id, key)
	if _, err := q.InsertEvent(ctx, dbq.InsertEventParams{
		ID: r.eventID, TenantID: r.tn.id, Type: "issue.assigned", IdempotencyKey: key, RequestHash: []byte(key),
		Recipients: recipients, Data: []byte(`{"issue_key": "QH-7", "title": "Quiet, please"}`), Urgent: urgent,
		WorkflowID: contract.NotifyWorkflowID(r.eventID),
	}); err != nil {
		r.t.Fatal(err)
	}
	if err := q.MarkEventStarted(ctx, dbq.MarkEventStartedParams{ID: r.eventID, RunID: "time-skipping-test"}); err != nil {
		r.t.Fatal(err)
	}
}

// run executes NotifyEvent to its end and returns its result.
func (r *skipRun) run() contract.NotifyResult {
	r.t.Helper()
	r.wf.ExecuteWorkflow(workflows.NotifyEvent, contract.NotifyInput{
		TenantID: r.tn.id, EventID: r.eventID, Type: "issue.assigned", Engine: contract.EngineCurrent,
	})
	if !r.wf.IsWorkflowCompleted() {
		r.t.Fatal("workflow did not complete")
	}
	if err := r.wf.GetWorkflowError(); err != nil {
		r.t.Fatalf("workflow failed: %v", err)
	}
	var res contract.NotifyResult
	if err := r.wf.GetWorkflowResult(&res); err != nil {
		r.t.Fatal(err)
	}
	return res
}

// checkReleasedAt checks that a delivery was handed to Deliver in the minute
// starting at want: a user asked for no email before then, and expects it
// when their quiet hours end, not an hour later.
func (r *skipRun) checkReleasedAt(d deliveryView, want time.Time) {
	r.t.Helper()
	at, ok := r.released(d.ID)
	switch {
	case !ok:
		r.t.Errorf("%s's %s was never handed to Deliver, want at %s", d.UserID, d.Channel, want.Format(time.RFC3339))
	case at.Before(want) || !at.Before(want.Add(time.Minute)):
		r.t.Errorf("%s's %s released at %s, want %s", d.UserID, d.Channel,
			at.In(want.Location()).Format(time.RFC3339), want.Format(time.RFC3339))
	}
}

// mailTo returns the event's caught emails addressed to address.
func mailTo(eventID uuid.UUID, address string) int {
	n := 0
	for _, m := range mailFor(eventID.String()) {
		if slices.Contains(m.To, address) {
			n++
		}
	}
	return n
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// quietHours is a quiet_hours document; zone "" follows the user's zone.
func quietHours(start, end, zone string, weekends bool) map[string]any {
	q := map[string]any{"enabled": true, "start": start, "end": end, "weekends": weekends}
	if zone != "" {
		q["timezone"] = zone
	}
	return q
}

// TestQuietTimeSkipRelease: an email that falls in quiet hours goes out the
// minute the window ends, in the user's own zone, across DST transitions
// and whole weekends; the in-app notice does not wait; an urgent event does
// not wait at all.
func TestQuietTimeSkipRelease(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	kathmandu, kolkata, chatham := mustZone(t, "Asia/Kathmandu"), mustZone(t, "Asia/Kolkata"), mustZone(t, "Pacific/Chatham")
	for _, tc := range []struct {
		name     string
		userZone string         // the user's own zone
		quiet    map[string]any // their quiet hours
		urgent   bool
		start    time.Time
		want     time.Time // when the email may go out
	}{
		{
			name: "weekday night", userZone: "Europe/Berlin", quiet: quietHours("22:00", "07:00", "Europe/Berlin", false),
			start: time.Date(2026, 6, 17, 23, 30, 0, 0, berlin), // a Wednesday
			want:  time.Date(2026, 6, 18, 7, 0, 0, 0, berlin),
		},
		{
			// Friday night runs into the weekend, the weekend into Monday's
			// early hours: one stretch, released once.
			name: "whole weekend", userZone: "Europe/Berlin", quiet: quietHours("22:00", "08:00", "Europe/Berlin", true),
			start: time.Date(2026, 6, 19, 23, 0, 0, 0, berlin),
			want:  time.Date(2026, 6, 22, 8, 0, 0, 0, berlin),
		},
		{
			// On 2026-03-29 Berlin's clocks jump from 02:00 CET to 03:00
			// CEST: 02:30 never happens, so the window ends at the jump.
			name: "spring forward, end in the skipped hour", userZone: "Europe/Berlin",
			quiet: quietHours("01:30", "02:30", "Europe/Berlin", false),
			start: time.Date(2026, 3, 29, 0, 40, 0, 0, time.UTC), // 01:40 CET
			want:  time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),  // 03:00 CEST
		},
		{
			// The same, waited for across the jump from the evening before.
			name: "spring forward, overnight", userZone: "Europe/Berlin",
			quiet: quietHours("22:00", "02:30", "Europe/Berlin", false),
			start: time.Date(2026, 3, 28, 22, 0, 0, 0, time.UTC), // 23:00 CET
			want:  time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC),  // 03:00 CEST
		},
		{
			// On 2026-10-25 Berlin's clocks go back from 03:00 CEST to
			// 02:00 CET: 02:30 happens twice, and the first one ends the wait.
			name: "fall back, overnight", userZone: "Europe/Berlin",
			quiet: quietHours("22:00", "02:30", "Europe/Berlin", false),
			start: time.Date(2026, 10, 24, 21, 0, 0, 0, time.UTC), // 23:00 CEST
			want:  time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // the first 02:30, CEST
		},
		{
			// Inside the first 02:00-03:00: the wait is 20 minutes, not 80.
			name: "fall back, in the first pass", userZone: "Europe/Berlin",
			quiet: quietHours("01:00", "02:30", "Europe/Berlin", false),
			start: time.Date(2026, 10, 25, 0, 10, 0, 0, time.UTC), // 02:10 CEST
			want:  time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), // 02:30 CEST
		},
		{
			// Quiet hours set without a zone follow the user's: UTC+5:45.
			name: "Kathmandu, window in the user's zone", userZone: "Asia/Kathmandu", quiet: quietHours("22:00", "07:00", "", false),
			start: time.Date(2026, 6, 17, 23, 0, 0, 0, kathmandu),
			want:  time.Date(2026, 6, 18, 7, 0, 0, 0, kathmandu), // 01:15 UTC
		},
		{
			name: "Kolkata, window in the user's zone", userZone: "Asia/Kolkata", quiet: quietHours("22:00", "07:00", "", false),
			start: time.Date(2026, 6, 17, 23, 0, 0, 0, kolkata),
			want:  time.Date(2026, 6, 18, 7, 0, 0, 0, kolkata), // 01:30 UTC
		},
		{
			// UTC+13:45 in its summer: the release is on the previous UTC day.
			name: "Chatham, window in the user's zone", userZone: "Pacific/Chatham", quiet: quietHours("22:00", "07:00", "", false),
			start: time.Date(2026, 1, 14, 23, 0, 0, 0, chatham),
			want:  time.Date(2026, 1, 15, 7, 0, 0, 0, chatham), // 17:15 UTC on the 14th
		},
		{
			name: "urgent event", userZone: "Europe/Berlin", quiet: quietHours("22:00", "07:00", "Europe/Berlin", false), urgent: true,
			start: time.Date(2026, 6, 17, 23, 30, 0, 0, berlin),
			want:  time.Date(2026, 6, 17, 23, 30, 0, 0, berlin), // at once
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t)
			tn.putUser("sam", "sam@example.com", "timezone", tc.userZone)
			tn.must(200, tn.do("PUT", "/v1/users/sam/preferences", map[string]any{"quiet_hours": tc.quiet}))
			r := newSkipRun(t, tn, tc.start)
			r.storeEvent("quiet-release", tc.urgent, "sam")
			deferred := tc.want.After(tc.start)

			// A minute in, what the user sees: the notice in their inbox,
			// the email waiting for the window's end and not sent.
			checkedWait := false
			r.wf.RegisterDelayedCallback(func() {
				checkedWait = true
				ev := tn.event(r.eventID.String())
				if d := deliveryOf(ev, "sam", "in_app"); d.Status != "delivered" {
					t.Errorf("a minute in, in-app = %+v, want delivered", d)
				}
				if d := deliveryOf(ev, "sam", "email"); d.Status != "pending" || d.NotBefore == nil || !d.NotBefore.Equal(tc.want) {
					t.Errorf("a minute in, email = %+v, want pending until %s", d, tc.want.UTC().Format(time.RFC3339))
				}
				if n := len(mailFor(r.eventID.String())); n != 0 {
					t.Errorf("a minute in, %d emails already sent", n)
				}
			}, time.Minute)

			res := r.run()
			if deferred && !checkedWait {
				t.Error("the workflow ended before the wait could be checked")
			}
			ev := tn.event(r.eventID.String())
			email := deliveryOf(ev, "sam", "email")
			r.checkReleasedAt(email, tc.want)
			if d := deliveryOf(ev, "sam", "in_app"); d.Status != "delivered" {
				t.Errorf("in-app = %+v, want delivered", d)
			}
			if email.Status != "delivered" || email.Reason != "" {
				t.Errorf("email = %+v, want delivered", email)
			}
			if n := mailTo(r.eventID, "sam@example.com"); n != 1 {
				t.Errorf("%d emails caught for sam, want 1", n)
			}
			// One timer for the one release time; none when nothing waits.
			starts, timers := r.counts()
			wantTimers, wantDeferred := 0, 0
			if deferred {
				wantTimers, wantDeferred = 1, 1
			}
			if timers != wantTimers || starts != 1 {
				t.Errorf("%d timers and %d Deliver attempts, want %d and 1", timers, starts, wantTimers)
			}
			want := contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 2, Deferred: wantDeferred}
			if res != want {
				t.Errorf("result = %+v, want %+v", res, want)
			}
			if ev.Status != "delivered" {
				t.Errorf("event status %s, want delivered", ev.Status)
			}
		})
	}
}

// TestQuietTimeSkipReschedule: a user who changes their preferences while an
// email waits gets what the new preferences say, not the old: sent at once
// when quiet hours are turned off, at the new end when the window moves,
// never when email is turned off. A reschedule signal that never arrives
// (the API only logs a failed one) costs lateness, never a wrong delivery.
func TestQuietTimeSkipReschedule(t *testing.T) {
	t.Parallel()
	berlin := mustZone(t, "Europe/Berlin")
	start := time.Date(2026, 6, 17, 23, 30, 0, 0, berlin) // a Wednesday
	changeAfter := 2 * time.Hour                          // at 01:30, mid-wait
	night := quietHours("22:00", "07:00", "", false)      // in the user's zone
	oldEnd := time.Date(2026, 6, 18, 7, 0, 0, 0, berlin)
	savePrefs := func(doc map[string]any) func(*tenant) response {
		return func(tn *tenant) response { return tn.do("PUT", "/v1/users/sam/preferences", doc) }
	}
	waited := contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 2, Deferred: 1}
	for _, tc := range []struct {
		name string
		// change is what the user does mid-wait, through the API.
		change func(*tenant) response
		// lost drops the reschedule signal, as if it could not be sent.
		lost bool
		// want is when the email goes out; zero for never.
		want       time.Time
		wantEmail  deliveryView // final status and reason
		wantTimers int
		wantResult contract.NotifyResult
	}{
		{
			name:       "quiet hours turned off",
			change:     savePrefs(map[string]any{"quiet_hours": map[string]any{"enabled": false}}),
			want:       start.Add(changeAfter),
			wantEmail:  deliveryView{Status: "delivered"},
			wantTimers: 1, // the 07:00 one, cancelled
			wantResult: waited,
		},
		{
			name:       "window ends two hours earlier",
			change:     savePrefs(map[string]any{"quiet_hours": quietHours("22:00", "05:00", "", false)}),
			want:       time.Date(2026, 6, 18, 5, 0, 0, 0, berlin),
			wantEmail:  deliveryView{Status: "delivered"},
			wantTimers: 2, // 07:00 cancelled, 05:00 armed
			wantResult: waited,
		},
		{
			name:       "window ends two hours later",
			change:     savePrefs(map[string]any{"quiet_hours": quietHours("22:00", "09:00", "", false)}),
			want:       time.Date(2026, 6, 18, 9, 0, 0, 0, berlin),
			wantEmail:  deliveryView{Status: "delivered"},
			wantTimers: 2, // 07:00 cancelled, 09:00 armed
			wantResult: waited,
		},
		{
			// Quiet hours without a zone follow the user's: 01:30 in Berlin
			// is 00:30 in London, where the night ends an hour later.
			name: "user moves to London",
			change: func(tn *tenant) response {
				return tn.do("PUT", "/v1/users/sam", map[string]any{"email": "sam@example.com", "timezone": "Europe/London"})
			},
			want:       time.Date(2026, 6, 18, 7, 0, 0, 0, mustZone(t, "Europe/London")),
			wantEmail:  deliveryView{Status: "delivered"},
			wantTimers: 2,
			wantResult: waited,
		},
		{
			name: "email turned off",
			change: savePrefs(map[string]any{"quiet_hours": night,
				"channels": map[string]any{"email": map[string]any{"enabled": false}}}),
			wantEmail:  deliveryView{Status: "skipped", Reason: "preference_disabled"},
			wantTimers: 1,
			// The in-app notice went out, so the event is delivered.
			wantResult: contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 1, Skipped: 1, Deferred: 1},
		},
		{
			// Decided again when the old timer fires: it waits on.
			name:       "window ends later, signal lost",
			change:     savePrefs(map[string]any{"quiet_hours": quietHours("22:00", "09:00", "", false)}),
			lost:       true,
			want:       time.Date(2026, 6, 18, 9, 0, 0, 0, berlin),
			wantEmail:  deliveryView{Status: "delivered"},
			wantTimers: 2,
			wantResult: waited,
		},
		{
			name:       "quiet hours turned off, signal lost",
			change:     savePrefs(map[string]any{"quiet_hours": map[string]any{"enabled": false}}),
			lost:       true,
			want:       oldEnd, // late, but sent
			wantEmail:  deliveryView{Status: "delivered"},
			wantTimers: 1,
			wantResult: waited,
		},
		{
			name: "email turned off, signal lost",
			change: savePrefs(map[string]any{"quiet_hours": night,
				"channels": map[string]any{"email": map[string]any{"enabled": false}}}),
			lost:       true,
			wantEmail:  deliveryView{Status: "skipped", Reason: "preference_disabled"},
			wantTimers: 1,
			wantResult: contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 1, Skipped: 1, Deferred: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenant(t)
			tn.putUser("sam", "sam@example.com", "timezone", "Europe/Berlin")
			tn.must(200, tn.do("PUT", "/v1/users/sam/preferences", map[string]any{"quiet_hours": night}))
			r := newSkipRun(t, tn, start)
			r.storeEvent("quiet-reschedule", false, "sam")

			var changedAt time.Time
			r.wf.RegisterDelayedCallback(func() {
				changedAt = r.wf.Now()
				// The API stores the change, then signals the event's run
				// on the real server, which does not run this workflow (a
				// warning is logged); the signal is sent here instead.
				if res := tc.change(tn); res.status != 200 {
					t.Errorf("saving the change: %d %s", res.status, res.raw)
				}
				if !tc.lost {
					r.wf.SignalWorkflow(contract.SignalReschedule, "sam")
				}
			}, changeAfter)

			res := r.run()
			if changedAt.IsZero() {
				t.Fatal("the workflow ended before the user changed their preferences")
			}
			ev := tn.event(r.eventID.String())
			email := deliveryOf(ev, "sam", "email")
			starts, timers := r.counts()
			wantMail := 0
			if tc.want.IsZero() {
				if at, ok := r.released(email.ID); ok {
					t.Errorf("email handed to Deliver at %s, want never", at.Format(time.RFC3339))
				}
			} else {
				wantMail = 1
				r.checkReleasedAt(email, tc.want)
				if starts != 1 {
					t.Errorf("%d Deliver attempts, want 1", starts)
				}
			}
			if email.Status != tc.wantEmail.Status || email.Reason != tc.wantEmail.Reason {
				t.Errorf("email = %+v, want %s %q", email, tc.wantEmail.Status, tc.wantEmail.Reason)
			}
			if d := deliveryOf(ev, "sam", "in_app"); d.Status != "delivered" {
				t.Errorf("in-app = %+v, want delivered", d)
			}
			if n := mailTo(r.eventID, "sam@example.com"); n != wantMail {
				t.Errorf("%d emails caught for sam, want %d", n, wantMail)
			}
			if timers != tc.wantTimers {
				t.Errorf("%d timers, want %d", timers, tc.wantTimers)
			}
			if res != tc.wantResult {
				t.Errorf("result = %+v, want %+v", res, tc.wantResult)
			}
			if ev.Status != "delivered" {
				t.Errorf("event status %s, want delivered", ev.Status)
			}
		})
	}
}

// TestQuietTimeSkipManyZones: one event to 480 users in 24 zones, all with
// the tenant's default 22:00-07:00 quiet hours in their own zone, sent when
// most of them are asleep. Each email goes out once, when its user's night
// ends, and the workflow waits on one timer per release time, not one per
// recipient: users sharing a zone, or an offset (Darwin and Adelaide in
// June), share a timer.
func TestQuietTimeSkipManyZones(t *testing.T) {
	t.Parallel()
	const perZone = 20
	// At the start, 19:05 UTC on Wednesday 2026-06-17, the first 17 are in
	// quiet hours (from 22:05 in Moscow to 06:05 in Noumea) and the rest
	// are not (Chatham's night ended at 07:00, 50 minutes before).
	zones := []string{
		"Europe/Moscow", "Asia/Tehran", "Asia/Dubai", "Asia/Kabul", "Asia/Karachi", "Asia/Kolkata",
		"Asia/Kathmandu", "Asia/Dhaka", "Asia/Yangon", "Asia/Bangkok", "Asia/Shanghai", "Australia/Eucla",
		"Asia/Tokyo", "Australia/Darwin", "Australia/Adelaide", "Australia/Brisbane", "Pacific/Noumea",
		"UTC", "Europe/Berlin", "America/New_York", "America/St_Johns", "America/Los_Angeles",
		"Pacific/Honolulu", "Pacific/Chatham",
	}
	start := time.Date(2026, 6, 17, 19, 5, 0, 0, time.UTC)

	tn := newTenant(t)
	tn.must(200, tn.do("PUT", "/v1/tenant/settings", map[string]any{
		"defaults": map[string]any{"quiet_hours": quietHours("22:00", "07:00", "", false)}}))
	// Each user's release time, worked out here from the wall clock alone:
	// the next 07:00 in their zone if it is night there, else the start.
	// No zone here changes its offset in June, so time.Date is exact.
	want := map[string]time.Time{}
	releases := map[time.Time]bool{}
	var users []string
	quietUsers := 0
	for i, name := range zones {
		loc := mustZone(t, name)
		local := start.In(loc)
		at := start
		if h := local.Hour(); h >= 22 || h < 7 {
			day := local.Day()
			if h >= 22 {
				day++
			}
			at = time.Date(local.Year(), local.Month(), day, 7, 0, 0, 0, loc)
			releases[at.UTC()] = true // keyed by instant: Darwin and Adelaide share one
		}
		for j := range perZone {
			id := fmt.Sprintf("z%02d-u%02d", i, j)
			tn.putUser(id, id+"@example.com", "timezone", name)
			users = append(users, id)
			want[id] = at
			if at.After(start) {
				quietUsers++
			}
		}
	}
	if quietUsers*2 <= len(users) {
		t.Fatalf("only %d of %d users are in quiet hours at the start; the test needs most", quietUsers, len(users))
	}

	r := newSkipRun(t, tn, start)
	r.storeEvent("quiet-many-zones", false, users...)
	res := r.run()

	// The event view pages its deliveries; the table holds them all.
	rows, err := env.pool.Query(context.Background(),
		"SELECT id::text, user_id, channel, status, reason FROM deliveries WHERE event_id = $1", r.eventID)
	if err != nil {
		t.Fatal(err)
	}
	var emails, notices int
	for rows.Next() {
		var d deliveryView
		if err := rows.Scan(&d.ID, &d.UserID, &d.Channel, &d.Status, &d.Reason); err != nil {
			t.Fatal(err)
		}
		if d.Status != "delivered" {
			t.Errorf("%s's %s = %s %q, want delivered", d.UserID, d.Channel, d.Status, d.Reason)
		}
		switch d.Channel {
		case "in_app":
			notices++
		case "email":
			emails++
			r.checkReleasedAt(d, want[d.UserID])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if emails != len(users) || notices != len(users) {
		t.Errorf("%d email and %d in-app deliveries, want %d each", emails, notices, len(users))
	}

	caught := map[string]int{}
	for _, m := range mailFor(r.eventID.String()) {
		for _, to := range m.To {
			caught[to]++
		}
	}
	for _, id := range users {
		if n := caught[id+"@example.com"]; n != 1 {
			t.Errorf("%d emails caught for %s, want 1", n, id)
		}
	}
	if len(caught) != len(users) {
		t.Errorf("emails to %d addresses, want %d", len(caught), len(users))
	}

	_, timers := r.counts()
	t.Logf("%d recipients, %d in quiet hours, %d release times, %d timers", len(users), quietUsers, len(releases), timers)
	if timers == 0 || timers > len(releases)+2 {
		t.Errorf("%d timers for %d release times: the workflow must wait per release time, not per recipient", timers, len(releases))
	}
	wantRes := contract.NotifyResult{Status: delivery.EventDelivered, Delivered: 2 * len(users), Deferred: quietUsers}
	if res != wantRes {
		t.Errorf("result = %+v, want %+v", res, wantRes)
	}
}
