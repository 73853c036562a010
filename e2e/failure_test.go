package e2e

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// flakySMTP is a real SMTP server that answers each RCPT TO as refuse says
// (nil accepts), and counts, per lower-cased address, the RCPT TOs it was
// sent (tries) and the messages it accepted.
type flakySMTP struct {
	mu       sync.Mutex
	refuse   func(to string, try int) *smtp.SMTPError
	tries    map[string]int
	accepted map[string]int
}

// startFlakySMTP serves refuse on a loopback port and answers its URL.
func startFlakySMTP(t *testing.T, refuse func(to string, try int) *smtp.SMTPError) (*flakySMTP, string) {
	t.Helper()
	b := &flakySMTP{refuse: refuse, tries: map[string]int{}, accepted: map[string]int{}}
	srv := smtp.NewServer(b)
	srv.Domain = "flaky.test"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return b, "smtp://" + ln.Addr().String() + "?tls=none"
}

// counts are the RCPT TOs and the accepted messages for addr so far.
func (b *flakySMTP) counts(addr string) (tries, accepted int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.tries[strings.ToLower(addr)], b.accepted[strings.ToLower(addr)]
}

// noSuchMailbox is a permanent refusal that names the address.
var noSuchMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}

// byPrefix refuses perm-* always with 550 and temp-* with 451 on the first try.
func byPrefix(to string, try int) *smtp.SMTPError {
	switch {
	case strings.HasPrefix(to, "perm-"):
		return noSuchMailbox
	case strings.HasPrefix(to, "temp-") && try == 1:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	return nil
}

func (b *flakySMTP) NewSession(*smtp.Conn) (smtp.Session, error) { return &flakySession{b: b}, nil }

type flakySession struct {
	b  *flakySMTP
	to []string
}

func (s *flakySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *flakySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	to = strings.ToLower(to)
	s.b.tries[to]++
	if err := s.b.refuse(to, s.b.tries[to]); err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}
func (s *flakySession) Data(r io.Reader) error {
	_, _ = io.Copy(io.Discard, r)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	for _, to := range s.to {
		s.b.accepted[to]++
	}
	return nil
}
func (s *flakySession) Reset()        { s.to = nil }
func (s *flakySession) Logout() error { return nil }

func TestEmailRetriesAndPermanentFailures(t *testing.T) {
	t.Parallel()
	backend, url := startFlakySMTP(t, byPrefix)
	st, err := startStack(context.Background(), url, "herald-e2e-flaky")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	tn := newTenantOn(t, st.API.URL)
	tn.putUser("temp", "temp-user@example.com")
	tn.putUser("perm", "perm-user@example.com")
	tn.putUser("fine", "fine@example.com")

	acc := tn.postEvent(assignEvent("flaky-1", "temp", "perm", "fine"))
	ev := tn.waitEvent(acc.EventID)
	recordHistory(t, acc.WorkflowID, "notify_partial")
	if ev.Status != "partial" {
		t.Errorf("event status = %q, want partial (one failed, others delivered)", ev.Status)
	}
	if len(ev.Deliveries) != 6 {
		t.Errorf("%d deliveries, want an in-app and an email one for each of 3 users: %+v", len(ev.Deliveries), ev.Deliveries)
	}
	emails := map[string]bool{}
	for _, d := range ev.Deliveries {
		if d.Channel != "email" {
			continue
		}
		emails[d.UserID] = true
		switch d.UserID {
		case "temp":
			if d.Status != "delivered" || d.Attempts != 2 {
				t.Errorf("temporarily refused email: %+v, want delivered on attempt 2", d)
			}
		case "perm":
			if d.Status != "failed" || d.Attempts != 1 || !strings.Contains(d.Error, "550") {
				t.Errorf("permanently refused email: %+v, want failed after 1 attempt with the 550", d)
			}
		case "fine":
			if d.Status != "delivered" || d.Attempts != 1 {
				t.Errorf("accepted email: %+v", d)
			}
		}
	}
	if len(emails) != 3 || !emails["temp"] || !emails["perm"] || !emails["fine"] {
		t.Errorf("email deliveries for %v, want temp, perm and fine", emails)
	}
	backend.mu.Lock()
	defer backend.mu.Unlock()
	// The retry resent only what the server had not accepted.
	if backend.accepted["fine@example.com"] != 1 || backend.accepted["temp-user@example.com"] != 1 || backend.accepted["perm-user@example.com"] != 0 {
		t.Errorf("accepted = %v, want each deliverable email exactly once", backend.accepted)
	}
	r := tn.must(200, tn.do("GET", "/v1/deliveries?status=failed&event_id="+acc.EventID, nil))
	if n := len(decodeAs[listPage[deliveryView]](t, r).Data); n != 1 {
		t.Errorf("failed deliveries listed: %d, want 1: %s", n, r.raw)
	}
}
