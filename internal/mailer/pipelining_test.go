package mailer_test

import (
	"context"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/mailer"
)

// groupRelay is a relay that offers PIPELINING and, as RFC 2920 lets it, answers a
// transaction's MAIL, RCPT and DATA only once it has read all three: a client that
// waits for each reply before its next command gets no reply at all. rcptCode, when
// set, refuses every RCPT with it. It records the envelopes and messages it accepted.
type groupRelay struct {
	rcptCode string

	mu       sync.Mutex
	accepted []string // "from -> to"
	groups   int      // MAIL/RCPT/DATA groups read
}

func (r *groupRelay) serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.session(c)
		}
	}()
	return ln.Addr().String()
}

func (r *groupRelay) session(conn net.Conn) {
	defer conn.Close()
	tp := textproto.NewConn(conn)
	reply := func(lines ...string) { _ = tp.PrintfLine("%s", strings.Join(lines, "\r\n")) }
	reply("220 relay.test ESMTP")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			reply("250-relay.test", "250-PIPELINING", "250 8BITMIME")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			rcpt, err1 := tp.ReadLine()
			data, err2 := tp.ReadLine()
			if err1 != nil || err2 != nil {
				return
			}
			r.mu.Lock()
			r.groups++
			r.mu.Unlock()
			if r.rcptCode != "" {
				reply("250 2.1.0 ok", r.rcptCode+" refused", "554 5.5.1 no valid recipients")
				continue
			}
			if !strings.HasPrefix(rcpt, "RCPT TO:") || data != "DATA" {
				reply("503 5.5.1 bad sequence")
				return
			}
			reply("250 2.1.0 ok", "250 2.1.5 ok", "354 go ahead")
			if _, err := tp.ReadDotBytes(); err != nil {
				return
			}
			r.mu.Lock()
			r.accepted = append(r.accepted, strings.TrimPrefix(line, "MAIL FROM:")+" -> "+strings.TrimPrefix(rcpt, "RCPT TO:"))
			r.mu.Unlock()
			reply("250 2.0.0 queued")
		case cmd == "RSET":
			reply("250 2.0.0 ok")
		case cmd == "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			reply("502 5.5.2 not implemented")
		}
	}
}

// TestPipelinedTransaction: against a relay that offers PIPELINING, the mailer sends a
// message's MAIL, RCPT and DATA together, so a relay that answers the group only once it
// has all of it gets the messages, over one connection.
func TestPipelinedTransaction(t *testing.T) {
	r := &groupRelay{}
	s := newSender(t, "smtp://"+r.serve(t), 1)
	// Without pipelining the MAIL would wait for its reply until this timeout.
	mailer.SetTimeouts(s, 2*time.Second, 2*time.Second)

	res := sendAll(t, context.Background(), s, plainMessages(3))
	for i, err := range res.errs {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	want := []string{"<noreply@herald.test> BODY=8BITMIME -> <u0@example.com>",
		"<noreply@herald.test> BODY=8BITMIME -> <u1@example.com>", "<noreply@herald.test> BODY=8BITMIME -> <u2@example.com>"}
	if strings.Join(r.accepted, "\n") != strings.Join(want, "\n") {
		t.Errorf("relay accepted\n%s\nwant\n%s", strings.Join(r.accepted, "\n"), strings.Join(want, "\n"))
	}
}

// TestPipelinedRefusal: a recipient refused inside a pipelined group fails its message
// with the RCPT reply (permanent for 5xx, not for 4xx), whatever the DATA reply after it,
// and the connection goes on to the next message.
func TestPipelinedRefusal(t *testing.T) {
	for _, tt := range []struct {
		code      string
		permanent bool
	}{{"550 5.1.1", true}, {"451 4.2.0", false}} {
		t.Run(tt.code, func(t *testing.T) {
			r := &groupRelay{rcptCode: tt.code}
			s := newSender(t, "smtp://"+r.serve(t), 1)
			mailer.SetTimeouts(s, 2*time.Second, 2*time.Second)

			res := sendAll(t, context.Background(), s, plainMessages(2))
			for i := range 2 {
				err := res.errs[i]
				if err == nil || !strings.Contains(err.Error(), tt.code[:3]) || !strings.Contains(err.Error(), "RCPT") {
					t.Fatalf("message %d: err = %v, want the RCPT refusal %s", i, err, tt.code)
				}
				if mailer.Permanent(err) != tt.permanent {
					t.Errorf("message %d: Permanent(%v) = %v, want %v", i, err, !tt.permanent, tt.permanent)
				}
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if r.groups != 2 || len(r.accepted) != 0 {
				t.Errorf("relay read %d groups and accepted %d messages, want 2 and 0", r.groups, len(r.accepted))
			}
		})
	}
}
