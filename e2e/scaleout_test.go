package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// logBuffer collects a process's output for the test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// heraldProc is a `herald serve` or `herald worker` OS process.
type heraldProc struct {
	name string
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{} // closed when the process has exited
}

func (p *heraldProc) pid() int { return p.cmd.Process.Pid }

// exited waits for the process to end and returns its exit code.
func (p *heraldProc) exited(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v:\n%s", p.name, within, p.out)
		return -1
	}
}

// buildHerald builds the herald binary once for the test.
func buildHerald(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "herald")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/herald")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building herald: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProc starts `herald <sub>` with the shared servers and vars, and
// waits until it serves (serve) or polls (worker).
func startProc(t *testing.T, bin, name, sub string, vars map[string]string) *heraldProc {
	t.Helper()
	env := []string{"PATH=/usr/bin:/bin",
		"HERALD_DATABASE_URL=" + envServers().ServiceURL, "HERALD_TEMPORAL_ADDRESS=" + envServers().Temporal.Address,
		"HERALD_SIGNING_KEY=" + localstack.TestSigningKey, "HERALD_WEBHOOK_ALLOW_PRIVATE=true",
		"HERALD_MAIL_FROM=Herald <herald@scale.test>"}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	p := &heraldProc{name: name, cmd: exec.Command(bin, sub), out: &logBuffer{}, done: make(chan struct{})}
	p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = env, p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out)
		}
	})
	ready := "worker polling"
	if sub == "serve" {
		ready = "API listening"
	}
	waitFor(t, 30*time.Second, name+" to start", func() bool {
		select {
		case <-p.done:
			t.Fatalf("%s exited: %v\n%s", name, p.cmd.ProcessState, p.out)
		default:
		}
		return strings.Contains(p.out.String(), ready)
	})
	return p
}

func envServers() *localstack.Servers { return env.servers }

// TestScaleOut runs two `herald serve` and two `herald worker` processes on
// one PostgreSQL and one Temporal server, as docker-compose.yml does:
// events posted to both APIs are delivered exactly once; a worker killed
// with SIGKILL in the middle of a fan-out loses nothing (the other one
// finishes it); SIGTERM lets a worker finish and record what it is sending
// before it exits.
func TestScaleOut(t *testing.T) {
	t.Parallel()
	bin := buildHerald(t)
	smtp := startCountingSMTP(t, 0)
	queue := "herald-scale"
	workerVars := func() map[string]string {
		return map[string]string{"HERALD_TASK_QUEUE": queue, "HERALD_SMTP_URL": smtp.url(), "HERALD_METRICS_ADDR": freeAddr(t)}
	}
	apiVars := func(addr string) map[string]string {
		return map[string]string{"HERALD_TASK_QUEUE": queue, "HERALD_HTTP_ADDR": addr, "HERALD_PUBLIC_URL": "http://" + addr}
	}
	w1 := startProc(t, bin, "worker 1", "worker", workerVars())
	w2 := startProc(t, bin, "worker 2", "worker", workerVars())
	addrA, addrB := freeAddr(t), freeAddr(t)
	startProc(t, bin, "API A", "serve", apiVars(addrA))
	startProc(t, bin, "API B", "serve", apiVars(addrB))
	a := newTenantOn(t, "http://"+addrA)
	b := &tenant{t: t, id: a.id, key: a.key, base: "http://" + addrB}

	// Exactly once, whichever API takes the event and whichever worker runs it.
	const n = 40
	var events []string
	for i := range n {
		user := fmt.Sprintf("s%03d", i)
		api := a
		if i%2 == 1 {
			api = b
		}
		api.putUser(user, user+"@scale.test")
		events = append(events, api.assign(user, fmt.Sprintf("SC-%d", i)).EventID)
	}
	waitFor(t, time.Minute, "every event delivered", func() bool {
		return count(t, `SELECT count(*) FROM events WHERE id = ANY($1::uuid[]) AND status = 'delivered'`, events) == n
	})
	accepted, _ := smtp.counts()
	for i := range n {
		if got := accepted[fmt.Sprintf("s%03d@scale.test", i)]; got != 1 {
			t.Errorf("s%03d got %d emails, want 1", i, got)
		}
	}

	// SIGKILL mid-fan-out: the worker running the event's workflow dies
	// while it pages 6,000 recipients (in-app only: they have no email).
	const fan = 6000
	if _, err := env.pool.Exec(context.Background(), `INSERT INTO users (tenant_id, id, name)
		SELECT $1, 'fan-' || lpad(g::text, 6, '0'), 'Fan ' || g FROM generate_series(1, $2::int) g`, a.id, fan); err != nil {
		t.Fatal(err)
	}
	// No ANALYZE here: other tests read plans off the shared statistics.
	big := a.postEvent(map[string]any{"type": "project.update", "data": map[string]any{"project": "Scale", "message": "Kill one"}})
	waitFor(t, time.Minute, "the fan-out to be under way", func() bool {
		return count(t, `SELECT count(*) FROM notifications WHERE event_id = $1`, big.EventID) >= 1000
	})
	victim := workflowWorker(t, big.WorkflowID, w1, w2)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	victim.exited(t, 10*time.Second)
	if got := count(t, `SELECT count(*) FROM notifications WHERE event_id = $1`, big.EventID); got >= fan+n {
		t.Logf("the fan-out had finished when %s was killed", victim.name)
	}
	waitFor(t, 2*time.Minute, "the other worker to finish the fan-out", func() bool {
		return count(t, `SELECT count(*) FROM events WHERE id = $1 AND status = 'delivered'`, big.EventID) == 1
	})
	if got := count(t, `SELECT count(*) FROM notifications WHERE event_id = $1`, big.EventID); got != fan+n {
		t.Fatalf("%d inbox items after the kill, want %d (every recipient once)", got, fan+n)
	}
	survivor := w1
	if victim == w1 {
		survivor = w2
	}

	// SIGTERM drains: the surviving worker is sending slowly when it is
	// told to stop; what it started is sent and recorded before it exits.
	smtp.setDelay(300 * time.Millisecond)
	var drain []string
	for i := range 24 {
		user := fmt.Sprintf("d%03d", i)
		a.putUser(user, user+"@scale.test")
		drain = append(drain, user)
	}
	ev := a.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": drain},
		"data": map[string]any{"issue_key": "DRAIN-1"}})
	waitFor(t, 30*time.Second, "emails in flight", func() bool {
		accepted, _ := smtp.counts()
		for _, u := range drain {
			if accepted[u+"@scale.test"] > 0 {
				return true
			}
		}
		return false
	})
	if err := survivor.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := survivor.exited(t, time.Minute); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM:\n%s", survivor.name, code, survivor.out)
	}
	accepted, _ = smtp.counts()
	sent := 0
	for _, u := range drain {
		sent += accepted[u+"@scale.test"]
	}
	recorded := count(t, `SELECT count(*) FROM deliveries WHERE event_id = $1 AND channel = 'email' AND status = 'delivered'`, ev.EventID)
	held := count(t, `SELECT count(*) FROM deliveries WHERE event_id = $1 AND status = 'pending' AND claimed_until > now()`, ev.EventID)
	if sent == 0 || recorded != sent || held != 0 {
		t.Fatalf("after SIGTERM: %d emails accepted, %d recorded delivered, %d still claimed", sent, recorded, held)
	}
	// A new worker finishes the event; nobody gets a second email.
	startProc(t, bin, "worker 3", "worker", workerVars())
	waitFor(t, time.Minute, "the drained event to finish", func() bool {
		return count(t, `SELECT count(*) FROM events WHERE id = $1 AND status = 'delivered'`, ev.EventID) == 1
	})
	accepted, _ = smtp.counts()
	for _, u := range drain {
		if got := accepted[u+"@scale.test"]; got != 1 {
			t.Errorf("%s got %d emails, want 1", u, got)
		}
	}
	t.Logf("SIGTERM: %s had sent and recorded %d of 24 emails when it exited", survivor.name, sent)
}

// workflowWorker is the worker process that last took a workflow task of
// the workflow (the SDK's identity starts with the process ID).
func workflowWorker(t *testing.T, workflowID string, procs ...*heraldProc) *heraldProc {
	t.Helper()
	var identity string
	for _, ev := range historyOf(t, workflowID) {
		if s := ev.GetWorkflowTaskStartedEventAttributes(); s != nil {
			identity = s.GetIdentity()
		}
	}
	pid, _, _ := strings.Cut(identity, "@")
	for _, p := range procs {
		if strconv.Itoa(p.pid()) == pid {
			return p
		}
	}
	t.Fatalf("no worker process is %q", identity)
	return nil
}

// TestWorkerKilledMidSend is the fault suite's worker crash (see package
// e2e/faults): the worker sending a batch of email is SIGKILLed. Its claims
// run out within a lease, the other worker sends the rest within about a
// minute, and only what was in flight at the kill may repeat, with the
// same Message-ID. In flight is measured, not assumed: the messages the
// relay took from the killed worker that the database had not recorded
// delivered when it died. With one SMTP connection per worker that is at
// most two, the newest two the relay took: the message in transmission
// (the relay stores it after the kill) and, if the kill fell in the
// millisecond it took, the one whose acceptance was being recorded
// (accepted messages are marked in the background while the connection
// starts the next one).
func TestWorkerKilledMidSend(t *testing.T) {
	t.Parallel()
	bin := buildHerald(t)
	mail, err := mailcatch.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mail.Close() })
	mail.SetDelay(250 * time.Millisecond)
	queue := "herald-kill-send"
	workerVars := func() map[string]string {
		return map[string]string{"HERALD_TASK_QUEUE": queue, "HERALD_SMTP_URL": mail.URL(), "HERALD_SMTP_MAX_CONNS": "1",
			"HERALD_METRICS_ADDR": freeAddr(t)}
	}
	w1 := startProc(t, bin, "worker 1", "worker", workerVars())
	w2 := startProc(t, bin, "worker 2", "worker", workerVars())
	addr := freeAddr(t)
	startProc(t, bin, "API", "serve", map[string]string{"HERALD_TASK_QUEUE": queue, "HERALD_HTTP_ADDR": addr, "HERALD_PUBLIC_URL": "http://" + addr})
	tn := newTenantOn(t, "http://"+addr)
	const n = 40
	if err := localstack.SeedUsers(context.Background(), env.owner, tn.id, n); err != nil {
		t.Fatal(err)
	}
	ev := tn.postEvent(map[string]any{"type": "project.update", "data": map[string]any{"project": "Crash", "message": "Kill the sender"}})
	byDelivery := func() map[string][]string {
		out := map[string][]string{}
		for _, m := range mail.Messages() {
			if id := m.Header["X-Herald-Event-Id"]; len(id) == 1 && id[0] == ev.EventID {
				d := m.Header["X-Herald-Delivery-Id"][0]
				out[d] = append(out[d], m.MessageID)
			}
		}
		return out
	}
	waitFor(t, time.Minute, "the batch to be sending", func() bool { return len(byDelivery()) >= 8 })
	victim := activityWorker(t, ev.WorkflowID, w1, w2)
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	victim.exited(t, 10*time.Second)
	// What was in flight at the kill: once the relay has stored the message
	// it was taking (it waits 250 ms before it answers, and stores it even
	// though no one reads the answer) and a statement the worker had sent
	// has committed, the relay's messages the database does not record
	// delivered. Nobody sends meanwhile: the other worker waits out the
	// killed one's lease (at least 30 s left, renewed every 15 s).
	time.Sleep(time.Second)
	relayed := mail.Messages()
	recorded := map[string]bool{}
	rows, err := env.pool.Query(context.Background(),
		`SELECT id::text FROM deliveries WHERE event_id = $1 AND channel = 'email' AND status = 'delivered'`, ev.EventID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		recorded[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	inFlight := map[string]bool{}
	var order []string // the event's deliveries in the order the relay took them
	afterKill := 0
	for _, m := range relayed {
		if id := m.Header["X-Herald-Event-Id"]; len(id) != 1 || id[0] != ev.EventID {
			continue
		}
		d := m.Header["X-Herald-Delivery-Id"][0]
		order = append(order, d)
		if !recorded[d] {
			inFlight[d] = true
			if m.Received.After(killed) {
				afterKill++
			}
		}
	}
	newest := map[string]bool{}
	for _, d := range order[max(len(order)-2, 0):] {
		newest[d] = true
	}
	for d := range inFlight {
		if !newest[d] {
			t.Errorf("delivery %s was taken by the relay and not recorded at the kill, but it is not one of the two newest "+
				"messages of the killed worker's one connection", d)
		}
	}
	if afterKill > 1 {
		t.Errorf("%d unrecorded messages reached the relay after the kill, want at most the one on its one connection", afterKill)
	}
	t.Logf("at the kill: %d messages at the relay, %d recorded delivered, %d in flight (%d stored after the kill)",
		len(order), len(recorded), len(inFlight), afterKill)
	waitFor(t, 2*time.Minute, "the other worker to send the rest", func() bool { return len(byDelivery()) == n })
	t.Logf("every email arrived %v after %s was killed", time.Since(killed).Round(100*time.Millisecond), victim.name)
	if took := time.Since(killed); took > 80*time.Second {
		t.Errorf("the rest took %v after the kill, want about a minute (a lease and a heartbeat timeout)", took)
	}
	repeats := 0
	for d, ids := range byDelivery() {
		if len(ids) > 1 {
			repeats++
			for _, id := range ids {
				if id != ids[0] {
					t.Errorf("delivery %s was sent with Message-IDs %v", d, ids)
				}
			}
			// A message recorded delivered, or one the relay never had,
			// must never be sent again: only what was in flight repeats.
			if !inFlight[d] {
				t.Errorf("delivery %s arrived %d times, but it was not in flight at the kill", d, len(ids))
			}
			if len(ids) > 2 {
				t.Errorf("delivery %s arrived %d times, want at most twice", d, len(ids))
			}
		}
	}
	if repeats > 2 {
		t.Errorf("%d messages arrived twice, want at most the one in flight and the one being recorded", repeats)
	}
	t.Logf("%d messages arrived twice", repeats)
	waitFor(t, 30*time.Second, "the event to be delivered", func() bool {
		return count(t, `SELECT count(*) FROM events WHERE id = $1 AND status = 'delivered'`, ev.EventID) == 1
	})
}

// activityWorker is the worker process running the workflow's pending
// activity (the SDK's identity starts with the process ID).
func activityWorker(t *testing.T, workflowID string, procs ...*heraldProc) *heraldProc {
	t.Helper()
	desc, err := env.temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, pa := range desc.GetPendingActivities() {
		pid, _, _ := strings.Cut(pa.GetLastWorkerIdentity(), "@")
		for _, p := range procs {
			if strconv.Itoa(p.pid()) == pid {
				return p
			}
		}
	}
	t.Fatalf("no pending activity runs on these workers: %v", desc.GetPendingActivities())
	return nil
}
