package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/circuit"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
	"github.com/heraldhq/herald/internal/mailer"
)

// relayResult records a Relays.SendAll call: each message's relay and error.
type relayResult struct {
	mu     sync.Mutex
	relays map[int]string
	errs   map[int]error
	calls  map[int]int
}

func relaySendAll(t *testing.T, r *mailer.Relays, msgs []mailer.Message) *relayResult {
	t.Helper()
	res := &relayResult{relays: map[int]string{}, errs: map[int]error{}, calls: map[int]int{}}
	r.SendAll(context.Background(), msgs, func(i int, relay string, err error) {
		res.mu.Lock()
		defer res.mu.Unlock()
		res.calls[i]++
		res.relays[i], res.errs[i] = relay, err
	})
	if len(res.calls) != len(msgs) {
		t.Fatalf("each called for %d distinct messages, want %d", len(res.calls), len(msgs))
	}
	for i, n := range res.calls {
		if n != 1 {
			t.Errorf("each called %d times for message %d, want 1", n, i)
		}
	}
	return res
}

func messages(prefix string, n int) []mailer.Message {
	msgs := make([]mailer.Message, n)
	for i := range msgs {
		msgs[i] = mailer.Message{To: fmt.Sprintf("%s-%d@example.com", prefix, i), Subject: prefix, Text: "hello"}
	}
	return msgs
}

// clock is a fake clock for the breakers.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// freeAddr is a loopback address nothing listens on (yet).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func newRelays(t *testing.T, c *clock, states map[int]circuit.State, mu *sync.Mutex, addrs ...string) *mailer.Relays {
	t.Helper()
	urls := make([]string, len(addrs))
	for i, a := range addrs {
		urls[i] = "smtp://" + a + "?tls=none"
	}
	r, err := mailer.NewRelays(urls, "noreply@herald.test", 2, mailer.RelayOptions{Threshold: 3, Cooldown: time.Minute, Now: c.Now,
		OnState: func(relay int, _ string, st circuit.State) {
			mu.Lock()
			defer mu.Unlock()
			states[relay] = st
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestRelaysFailOverAndReturnAfterTheCooldown(t *testing.T) {
	t.Parallel()
	first := freeAddr(t) // refuses connections until a catcher starts there
	second := startCatcher(t)
	c := &clock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	states := map[int]circuit.State{}
	r := newRelays(t, c, states, &mu, first, second.SMTPAddr())
	if got := r.Addrs(); got[0] != first || got[1] != second.SMTPAddr() {
		t.Fatalf("Addrs = %v", got)
	}

	res := relaySendAll(t, r, messages("away", 5))
	for i := range 5 {
		if res.errs[i] != nil || res.relays[i] != second.SMTPAddr() {
			t.Errorf("message %d: relay %q, err %v; want accepted by the second relay", i, res.relays[i], res.errs[i])
		}
	}
	if n := second.Count(); n != 5 {
		t.Fatalf("second relay caught %d messages, want each of 5 once", n)
	}
	mu.Lock()
	if states[0] != circuit.Open || states[1] != circuit.Closed {
		t.Errorf("states %v, want the first relay open, the second closed", states)
	}
	mu.Unlock()

	// The first relay comes back; while it cools down it is not used.
	back, err := startCatcherAt(first)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	relaySendAll(t, r, messages("cooling", 2))
	if back.Count() != 0 || second.Count() != 7 {
		t.Fatalf("during the cool-down: first caught %d, second %d; want 0 and 7", back.Count(), second.Count())
	}

	c.add(time.Minute)
	res = relaySendAll(t, r, messages("back", 3))
	for i := range 3 {
		if res.errs[i] != nil || res.relays[i] != first {
			t.Errorf("message %d after the cool-down: relay %q, err %v; want the first relay", i, res.relays[i], res.errs[i])
		}
	}
	if back.Count() != 3 || second.Count() != 7 {
		t.Fatalf("after the cool-down: first caught %d, second %d; want 3 and 7", back.Count(), second.Count())
	}
	mu.Lock()
	defer mu.Unlock()
	if states[0] != circuit.Closed || r.State(0) != circuit.Closed {
		t.Errorf("first relay's state %v after a good probe, want closed", states[0])
	}
}

func TestRelaysKeepRefusalsAndUncertainMessagesWhereTheyWere(t *testing.T) {
	t.Parallel()
	refusing := &testBackend{}
	hangingUp := &testBackend{noFinalReply: true}
	spare := startCatcher(t)
	c := &clock{now: time.Now()}
	var mu sync.Mutex
	states := map[int]circuit.State{}

	// A refusal for the recipient is the relay's answer: not sent elsewhere.
	r := newRelays(t, c, states, &mu, startTestServer(t, refusing, nil), spare.SMTPAddr())
	res := relaySendAll(t, r, []mailer.Message{{To: "bounce@example.com", Subject: "s", Text: "t"}, {To: "later@example.com", Subject: "s", Text: "t"}})
	if !mailer.Permanent(res.errs[0]) || res.relays[0] == "" {
		t.Errorf("refused recipient: relay %q, err %v; want the first relay's permanent refusal", res.relays[0], res.errs[0])
	}
	if detail, ok := mailer.RecipientRejected(res.errs[0]); !ok || detail != "SMTP 550 5.1.1" {
		t.Errorf("RecipientRejected = %q, %v; want SMTP 550 5.1.1", detail, ok)
	}
	if res.errs[1] == nil || mailer.Permanent(res.errs[1]) {
		t.Errorf("recipient deferred with 451: err %v, want a temporary error", res.errs[1])
	}
	if spare.Count() != 0 || r.State(0) != circuit.Closed {
		t.Errorf("spare caught %d, first relay %v; want nothing failed over and the first relay closed", spare.Count(), r.State(0))
	}

	// A message whose final reply never came may have arrived: never resent.
	r = newRelays(t, c, states, &mu, startTestServer(t, hangingUp, nil), spare.SMTPAddr())
	res = relaySendAll(t, r, messages("unanswered", 1))
	if !errors.Is(res.errs[0], mailer.ErrUncertain) || res.relays[0] != "" {
		t.Errorf("unanswered: relay %q, err %v; want ErrUncertain", res.relays[0], res.errs[0])
	}
	if spare.Count() != 0 || hangingUp.seen() != 1 {
		t.Errorf("spare caught %d, first read %d; want the message sent once, to the first relay", spare.Count(), hangingUp.seen())
	}
}

func TestRelaysAllDownGiveATemporaryError(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Now()}
	var mu sync.Mutex
	r := newRelays(t, c, map[int]circuit.State{}, &mu, freeAddr(t), freeAddr(t))
	for range 2 { // the second time both are open, and tried anyway
		res := relaySendAll(t, r, messages("nowhere", 4))
		for i := range 4 {
			if err := res.errs[i]; err == nil || mailer.Permanent(err) || errors.Is(err, mailer.ErrUncertain) || res.relays[i] != "" {
				t.Errorf("message %d: relay %q, err %v; want a temporary error", i, res.relays[i], err)
			}
		}
	}
	if r.State(0) != circuit.Open || r.State(1) != circuit.Open {
		t.Errorf("states %v %v, want both open", r.State(0), r.State(1))
	}
}

func TestRelayFaultAndRecipientRejected(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		fault    bool
		rejected string // "" for not rejected
	}{
		{"connect refused", fmt.Errorf("mailer: connect to x: %w", errors.New("connection refused")), true, ""},
		{"dropped mid-message", &mailer.SMTPError{Stage: "body"}, true, ""},
		{"421 at RCPT", &mailer.SMTPError{Stage: "rcpt", Code: 421}, true, ""},
		{"451 at MAIL", &mailer.SMTPError{Stage: "mail", Code: 451}, true, ""},
		{"452 to the data", &mailer.SMTPError{Stage: "final", Code: 452}, true, ""},
		{"530 auth required", &mailer.SMTPError{Stage: "mail", Code: 530}, true, ""},
		{"451 at RCPT", &mailer.SMTPError{Stage: "rcpt", Code: 451}, false, ""},
		{"550 5.1.1 at RCPT", &mailer.SMTPError{Stage: "rcpt", Code: 550, Enhanced: "5.1.1"}, false, "SMTP 550 5.1.1"},
		{"550 at RCPT, no enhanced status", &mailer.SMTPError{Stage: "rcpt", Code: 550}, false, ""},
		{"553 at RCPT, no enhanced status (qmail's relay refusal)", &mailer.SMTPError{Stage: "rcpt", Code: 553}, false, ""},
		{"554 5.7.1 relay denied at RCPT", &mailer.SMTPError{Stage: "rcpt", Code: 554, Enhanced: "5.7.1"}, false, ""},
		{"554 at RCPT", &mailer.SMTPError{Stage: "rcpt", Code: 554}, false, ""},
		{"550 5.1.8 bad sender at RCPT", &mailer.SMTPError{Stage: "rcpt", Code: 550, Enhanced: "5.1.8"}, false, ""},
		{"550 5.7.1 content refused", &mailer.SMTPError{Stage: "final", Code: 550, Enhanced: "5.7.1"}, false, ""},
		{"550 5.1.1 to the data", &mailer.SMTPError{Stage: "final", Code: 550, Enhanced: "5.1.1"}, false, "SMTP 550 5.1.1"},
		{"553 at MAIL", &mailer.SMTPError{Stage: "mail", Code: 553}, false, ""},
		{"no final reply", &mailer.SMTPError{Stage: "final"}, false, ""},
		{"caller cancelled", context.Canceled, false, ""},
		{"closed", mailer.ErrClosed, false, ""},
	} {
		if got := mailer.RelayFault(tc.err); got != tc.fault {
			t.Errorf("%s: RelayFault = %v, want %v", tc.name, got, tc.fault)
		}
		detail, ok := mailer.RecipientRejected(tc.err)
		if ok != (tc.rejected != "") || (ok && detail != tc.rejected) {
			t.Errorf("%s: RecipientRejected = %q, %v; want %q", tc.name, detail, ok, tc.rejected)
		}
	}
}

func TestSplitURLs(t *testing.T) {
	got := mailer.SplitURLs(" smtp://a:25 , smtps://u:p%2Cq@b ,")
	if len(got) != 2 || got[0] != "smtp://a:25" || got[1] != "smtps://u:p%2Cq@b" {
		t.Errorf("SplitURLs = %q", got)
	}
}

// startCatcherAt starts a mail catcher on addr (a relay coming back).
func startCatcherAt(addr string) (*mailcatch.Server, error) {
	return mailcatch.Start(addr, "")
}
