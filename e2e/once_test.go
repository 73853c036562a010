package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/devstack"
	"github.com/heraldhq/herald/internal/dev/localstack"
)

// countingSMTP is a real SMTP server that counts the messages it accepts per
// recipient, after holding each DATA for delay.
type countingSMTP struct {
	delay    time.Duration
	mu       sync.Mutex
	accepted map[string]int
	total    int
	addr     string
}

func startCountingSMTP(t *testing.T, delay time.Duration) *countingSMTP {
	t.Helper()
	b := &countingSMTP{delay: delay, accepted: map[string]int{}}
	srv := smtp.NewServer(b)
	srv.Domain = "counting.test"
	srv.AllowInsecureAuth = true
	// Longer than any delay, so the server never gives up first.
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	b.addr = ln.Addr().String()
	return b
}

func (b *countingSMTP) url() string { return "smtp://" + b.addr + "?tls=none" }

// setDelay changes how long each DATA is held from now on.
func (b *countingSMTP) setDelay(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.delay = d
}

func (b *countingSMTP) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &countingSession{b: b}, nil
}

func (b *countingSMTP) counts() (map[string]int, int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.accepted))
	for k, v := range b.accepted {
		out[k] = v
	}
	return out, b.total
}

type countingSession struct {
	b  *countingSMTP
	to []string
}

func (s *countingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *countingSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *countingSession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	s.b.mu.Lock()
	delay := s.b.delay
	s.b.mu.Unlock()
	time.Sleep(delay)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, to := range s.to {
		s.b.accepted[to]++
		s.b.total++
	}
	return nil
}
func (s *countingSession) Reset()        { s.to = nil }
func (s *countingSession) Logout() error { return nil }

// assertOnceEach checks that every email delivery of ev is delivered and that
// the server accepted exactly one message per recipient. An answer that
// lists all the event's deliveries must list one email for each address the
// server accepted mail for.
func assertOnceEach(t *testing.T, ev eventView, accepted map[string]int, addr func(user string) string) {
	t.Helper()
	emails := 0
	for _, d := range ev.Deliveries {
		if d.Channel != "email" {
			continue
		}
		emails++
		if d.Status != "delivered" {
			t.Errorf("delivery %s to %s is %s (%s), want delivered", d.ID, d.UserID, d.Status, d.Error)
		}
		if n := accepted[addr(d.UserID)]; n != 1 {
			t.Errorf("%s got %d copies, want exactly 1", d.UserID, n)
		}
	}
	if ev.Truncated == nil && emails != len(accepted) {
		t.Errorf("the event has %d email deliveries, the server accepted mail for %d addresses", emails, len(accepted))
	}
}

func users(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

// A relay that takes longer to accept than the fast path may wait makes the
// fast path time out while its sends go on; the retried activity must not
// send them again.
func TestSlowRelaySendsEachEmailOnce(t *testing.T) {
	t.Parallel()
	srv := startCountingSMTP(t, 6*time.Second)
	st, err := startStack(context.Background(), srv.url(), "herald-e2e-slow")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	tn := newTenantOn(t, st.API.URL)
	names := users("slow", 3)
	for _, u := range names {
		tn.putUser(u, u+"@example.com")
	}
	acc := tn.postEvent(assignEvent("slow-1", names...))
	ev := tn.waitSettled(acc.EventID, 2*time.Minute)
	accepted, total := srv.counts()
	assertOnceEach(t, ev, accepted, func(u string) string { return u + "@example.com" })
	if total != 3 {
		t.Errorf("server accepted %d messages, want 3", total)
	}
}

// installRefusals makes the database refuse to mark the email deliveries of
// users named refuse-* delivered, the first n times (a sequence counts:
// unlike a table it is not rolled back with the refused statement).
func installRefusals(t *testing.T, n int) {
	t.Helper()
	ctx := context.Background()
	for _, stmt := range []string{
		`CREATE SEQUENCE IF NOT EXISTS e2e_refusals`,
		fmt.Sprintf(`CREATE OR REPLACE FUNCTION e2e_refuse_mark() RETURNS trigger AS $$
		BEGIN
			IF NEW.status = 'delivered' AND OLD.status = 'pending' AND NEW.channel = 'email'
			   AND NEW.user_id LIKE 'refuse-%%' AND nextval('e2e_refusals') <= %d THEN
				RAISE EXCEPTION 'e2e: refusing to mark a delivery delivered';
			END IF;
			RETURN NEW;
		END $$ LANGUAGE plpgsql`, n),
		`CREATE OR REPLACE TRIGGER e2e_refuse_mark BEFORE UPDATE ON deliveries
			FOR EACH ROW EXECUTE FUNCTION e2e_refuse_mark()`,
	} {
		if _, err := env.owner.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = env.owner.Exec(ctx, `DROP TRIGGER IF EXISTS e2e_refuse_mark ON deliveries`)
	})
}

// A message the server accepted must never be sent again, even when the
// database refuses to record it, more often than the retries of the write cover.
func TestAcceptedButUnrecordedIsNeverResent(t *testing.T) {
	t.Parallel()
	installRefusals(t, 8)
	tn := newTenant(t)
	tn.putUser("refuse-a", "refuse-a@example.com")
	tn.putUser("fine-b", "fine-b@example.com")
	id := tn.postEvent(assignEvent("refuse-1", "refuse-a", "fine-b")).EventID
	ev := tn.waitSettled(id, 2*time.Minute)
	accepted := map[string]int{}
	for _, m := range mailFor(id) {
		accepted[m.To[0]]++
	}
	assertOnceEach(t, ev, accepted, func(u string) string { return u + "@example.com" })
	if ev.Status != "delivered" {
		t.Errorf("event %s, want delivered", ev.Status)
	}
	var refused int
	if err := env.pool.QueryRow(context.Background(), `SELECT last_value FROM e2e_refusals`).Scan(&refused); err != nil || refused < 8 {
		t.Errorf("the database refused %d times (%v); the test did not exercise the failure", refused, err)
	}
}

// A worker stopped in the middle of a batch lets what it was sending finish
// and be recorded; a new worker sends only the rest.
func TestWorkerStoppedMidBatchSendsEachOnce(t *testing.T) {
	t.Parallel()
	srv := startCountingSMTP(t, 150*time.Millisecond)
	st, err := startStack(context.Background(), srv.url(), "herald-e2e-restart")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	tn := newTenantOn(t, st.API.URL)
	names := users("restart", 80)
	for _, u := range names {
		tn.putUser(u, u+"@example.com")
	}
	id := tn.postEvent(assignEvent("restart-1", names...)).EventID

	deadline := time.Now().Add(time.Minute)
	for {
		if _, total := srv.counts(); total >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch never started sending")
		}
		time.Sleep(20 * time.Millisecond)
	}
	st.Worker.Stop()
	_, atStop := srv.counts()
	if atStop >= len(names) {
		t.Fatalf("the whole batch was sent before the worker stopped (%d); nothing was tested", atStop)
	}
	w, err := app.NewWorker(st.Config, st.Pool, st.Temporal, logger)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	ev := tn.waitSettled(id, 3*time.Minute)
	accepted, total := srv.counts()
	assertOnceEach(t, ev, accepted, func(u string) string { return u + "@example.com" })
	if total != len(names) {
		t.Errorf("server accepted %d messages, want %d", total, len(names))
	}
	t.Logf("%d sent before the stop, %d after", atStop, total-atStop)
}

// An event accepted while Temporal does not answer still runs: the start is
// detached from the client, and what it cannot start the reconciler does.
func TestEventAcceptedWhileTemporalIsDownRuns(t *testing.T) {
	t.Parallel()
	temporal := startPrivateTemporal(t)
	st, err := startStackWith(context.Background(), temporal.Address, "herald-e2e-outage")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	tn := newTenantOn(t, st.API.URL)
	tn.putUser("patient", "patient@example.com")

	// A client that gives up after 2 s while Temporal is paused for 3 s: the
	// outage deliberately goes on for a second after the client gave up, so
	// the start runs on without anyone waiting for it. This sleep is the
	// outage itself, not a wait for something to happen.
	const clientTimeout, outageAfterGiveUp = 2 * time.Second, time.Second
	if err := temporal.Pause(); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: clientTimeout}
	req, _ := http.NewRequest("POST", st.API.URL+"/v1/events", strings.NewReader(
		`{"type":"issue.assigned","recipients":{"users":["patient"]},"data":{"issue_key":"OUT-1"},"idempotency_key":"gave-up"}`))
	req.Header.Set("Authorization", "Bearer "+tn.key)
	req.Header.Set("Content-Type", "application/json")
	if res, err := client.Do(req); err == nil {
		res.Body.Close()
		t.Logf("the post answered %d before the client gave up", res.StatusCode)
	}
	time.Sleep(outageAfterGiveUp)
	if err := temporal.Resume(); err != nil {
		t.Fatal(err)
	}
	gaveUp := waitEventByKey(t, tn, "gave-up")
	ev := tn.waitSettled(gaveUp, time.Minute)
	if ev.Status != "delivered" {
		t.Errorf("event of the client that gave up: %+v", ev)
	}

	// Paused past the start's own timeout: 202 now, the reconciler later.
	if err := temporal.Pause(); err != nil {
		t.Fatal(err)
	}
	r := tn.do("POST", "/v1/events", map[string]any{"type": "issue.assigned",
		"recipients": map[string]any{"users": []string{"patient"}}, "data": map[string]any{"issue_key": "OUT-2"},
		"idempotency_key": "while-down"})
	if err := temporal.Resume(); err != nil {
		t.Fatal(err)
	}
	if r.status != 202 {
		t.Fatalf("post while Temporal is down = %d %s, want 202 with the start unconfirmed", r.status, r.raw)
	}
	acc := decodeAs[accepted](t, r)
	if acc.RunID != "" {
		t.Fatalf("post while Temporal is down = %d %s, want 202 with the start unconfirmed", r.status, r.raw)
	}
	ev = tn.waitSettled(acc.EventID, time.Minute)
	if ev.Status != "delivered" {
		t.Errorf("event accepted while Temporal was down: %+v", ev)
	}
	if n := len(mailFor(acc.EventID)); n != 1 {
		t.Errorf("%d emails, want 1", n)
	}
}

// startPrivateTemporal starts a Temporal dev server for one test that
// pauses it; the shared one must keep answering the others.
func startPrivateTemporal(t *testing.T) *devstack.Temporal {
	t.Helper()
	bin, err := filepath.Abs("../bin/temporal")
	if err != nil {
		t.Fatal(err)
	}
	tp, err := devstack.StartTemporal(context.Background(), devstack.TemporalOptions{
		Bin: bin, SearchAttributes: contract.SearchAttributeNames,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tp.Resume(); _ = tp.Stop() })
	return tp
}

// startStackWith starts a Herald on another Temporal server whose reconciler
// looks for stranded events every second.
func startStackWith(ctx context.Context, temporalAddr, taskQueue string) (*localstack.Herald, error) {
	return env.servers.StartHeraldWith(ctx, localstack.HeraldOptions{
		TaskQueue: taskQueue, TemporalAddress: temporalAddr,
		ReconcileEvery: time.Second, ReconcileAfter: time.Second,
	}, logger)
}

// waitEventByKey waits for the event a post stored under key.
func waitEventByKey(t *testing.T, tn *tenant, key string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var id string
		err := env.pool.QueryRow(context.Background(),
			`SELECT id::text FROM events WHERE tenant_id = $1 AND idempotency_key = $2`, tn.id, key).Scan(&id)
		if err == nil {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event stored under %q: %v", key, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A repeat of a key whose run Temporal has since purged (as retention does)
// answers the first event and never runs it again.
func TestRepeatOfAPurgedEventNeverRunsAgain(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("once", "once@example.com")
	body := assignEvent("purged-1", "once")
	acc := tn.postEvent(body)
	id, wid := acc.EventID, acc.WorkflowID
	tn.waitSettled(id, time.Minute)
	if n := len(mailFor(id)); n != 1 {
		t.Fatalf("first run sent %d emails", n)
	}
	ctx := context.Background()
	purgeRun(t, wid)
	again := tn.postEvent(body)
	if !again.Duplicate || again.EventID != id || again.RunID != acc.RunID {
		t.Fatalf("repeat = %+v, want the first answer %+v as a duplicate", again, acc)
	}
	if _, err := env.temporal.DescribeWorkflowExecution(ctx, wid, ""); err == nil {
		t.Error("the repeat started the purged event's workflow again")
	}
	if n := len(mailFor(id)); n != 1 {
		t.Errorf("%d emails after the repeat, want still 1", n)
	}
}

// purgeRun deletes a closed workflow's runs, as Temporal's retention does,
// and waits until it is gone.
func purgeRun(t *testing.T, wid string) {
	t.Helper()
	ctx := context.Background()
	if _, err := env.temporal.WorkflowService().DeleteWorkflowExecution(ctx, &workflowservice.DeleteWorkflowExecutionRequest{
		Namespace: "default", WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: wid},
	}); err != nil {
		t.Fatal(err)
	}
	// The dev server deletes in the background, in about a minute.
	deadline := time.Now().Add(3 * time.Minute)
	for {
		_, err := env.temporal.DescribeWorkflowExecution(ctx, wid, "")
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s still there after deletion: %v", wid, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
