package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/seal"
)

// endReason reads a stream's final event.
func endReason(t *testing.T, ev sseEvent) string {
	t.Helper()
	var end struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal([]byte(ev.data), &end); err != nil {
		t.Fatalf("end event %q: %v", ev.data, err)
	}
	return end.Reason
}

// drainUntilEnded collects what a stream receives until the server closes
// it, failing the test if it is still open after within.
func (s *sseStream) drainUntilEnded(within time.Duration) []sseEvent {
	s.t.Helper()
	var got []sseEvent
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.events:
			got = append(got, ev)
		case <-s.ended:
			for {
				select {
				case ev := <-s.events:
					got = append(got, ev)
				default:
					return got
				}
			}
		case <-deadline:
			s.t.Fatalf("the stream is still open after %v; it got %d events: %+v", within, len(got), got)
			return nil
		}
	}
}

// TestStreamEndsWhenItsUserIsDeleted: deleting a user ends their open
// streams on every API process, whether opened with an inbox token or the
// API key, after a final event saying why; the user created next with the
// same ID gets none of it, and the deleted user's token opens nothing of
// theirs.
func TestStreamEndsWhenItsUserIsDeleted(t *testing.T) {
	t.Parallel()
	second := secondAPI(t)

	tn := newTenant(t)
	tn.putUser("gone", "gone@example.com")
	token := tn.inboxToken("gone")
	byToken := openStream(t, second, "gone", token, "") // another process than the DELETE's
	byKey := openKeyStream(t, tn.base, "gone", tn.key)
	byToken.count(0, 5*time.Second)
	byKey.count(0, 5*time.Second)

	tn.must(204, tn.do("DELETE", "/v1/users/gone", nil))
	// The successor, with an item of their own.
	tn.putUser("gone", "successor@example.com")
	tn.waitEvent(tn.assign("gone", "NEW-1").EventID)

	for name, st := range map[string]*sseStream{"token": byToken, "API key": byKey} {
		got := st.drainUntilEnded(10 * time.Second)
		var last sseEvent
		for _, ev := range got {
			if ev.event == "notification" {
				t.Errorf("the %s stream of the deleted user got the successor's item: %s", name, ev.data)
			}
			last = ev
		}
		if last.event != "end" || endReason(t, last) != "user_deleted" {
			t.Errorf("the %s stream ended without an end event saying user_deleted: %+v", name, got)
		}
	}

	// The deleted user's token (a browser reconnecting) opens nothing of the
	// successor's.
	for _, path := range []string{"/notifications/stream", "/notifications", "/notifications/unread_count"} {
		res, err := http.Get(tn.base + "/v1/users/gone" + path + "?token=" + token)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 401 {
			t.Errorf("GET %s with the deleted user's token: %d, want 401", path, res.StatusCode)
		}
	}
	res, err := http.Get(tn.base + "/inbox?token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == 200 {
		t.Error("the inbox page opened for the deleted user's token")
	}
	// The successor's own token does.
	fresh := openStream(t, tn.base, "gone", tn.inboxToken("gone"), "")
	fresh.count(1, 5*time.Second)
}

// TestStreamEndsWhenItsTokenExpires: a stream opened with an inbox token
// ends when the token expires, after an end event saying so (the client
// reconnects with a fresh token); a stream opened with the API key has no
// expiry.
func TestStreamEndsWhenItsTokenExpires(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("brief", "brief@example.com")
	sealer, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(3 * time.Second).Truncate(time.Second)
	short := sealer.SealInbox(seal.Inbox{TenantID: tn.id, UserID: "brief", Expires: expires})
	byToken := openStream(t, tn.base, "brief", short, "")
	byKey := openKeyStream(t, tn.base, "brief", tn.key)
	byToken.count(0, 5*time.Second)
	byKey.count(0, 5*time.Second)

	ev := byToken.next("end", 10*time.Second)
	if r := endReason(t, ev); r != "token_expired" {
		t.Errorf("end reason %q, want token_expired", r)
	}
	if now := time.Now(); now.Before(expires) || now.After(expires.Add(3*time.Second)) {
		t.Errorf("the stream ended at %v, its token expired at %v", now, expires)
	}
	select {
	case <-byToken.ended:
	case <-time.After(2 * time.Second):
		t.Fatal("the stream stayed open after its end event")
	}

	// The API key's stream is still live.
	tn.assign("brief", "LATER-1")
	byKey.next("notification", 10*time.Second)
}

// TestStreamDropsAClientThatStopsReading: a client that opens a stream and
// then never reads (its socket buffers full) is dropped within the stream's
// write timeout, so it cannot hold a goroutine and its buffers for ever.
func TestStreamDropsAClientThatStopsReading(t *testing.T) {
	t.Parallel()
	handler, err := app.NewHandler(env.cfg, env.pool, env.temporal, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(handler)
	closed := make(chan string, 16)
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- c.RemoteAddr().String()
		}
	}
	srv.Start()
	t.Cleanup(func() { app.CloseStreams(handler); srv.Close() })

	tn := newTenant(t)
	tn.putUser("stall", "stall@example.com")
	token := tn.inboxToken("stall")

	// A small receive buffer, set before connecting so the window stays small.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET /v1/users/stall/notifications/stream?token=%s HTTP/1.1\r\nHost: herald.test\r\nAccept: text/event-stream\r\n\r\n", token)
	// Read until the stream is open (its first count), then never again.
	rd := bufio.NewReader(conn)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream's start: %v", err)
		}
		if strings.HasPrefix(line, "event: count") {
			break
		}
	}
	mine := conn.LocalAddr().String()

	// 200 items of 64 KiB each: far more than the socket buffers hold, and
	// fewer than the feed buffers per stream, so only the write timeout can
	// end the stream.
	began := time.Now()
	_, err = env.pool.Exec(context.Background(), `
		WITH ev AS (
			INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, data, workflow_id)
			SELECT gen_random_uuid(), $1, 'project.update', 'stall-' || g, '\x00', '{}', '{}', 'test/stall-' || g
			FROM generate_series(1, 200) g
			RETURNING id, tenant_id),
		d AS (
			INSERT INTO deliveries (tenant_id, event_id, user_id, channel, status)
			SELECT tenant_id, id, 'stall', 'in_app', 'delivered' FROM ev
			RETURNING id, event_id, tenant_id)
		INSERT INTO notifications (tenant_id, user_id, event_id, delivery_id, type, title, body)
		SELECT tenant_id, 'stall', event_id, id, 'project.update', 'stalled', repeat('x', 65536) FROM d`, tn.id)
	if err != nil {
		t.Fatal(err)
	}
	const bound = 25 * time.Second // the write timeout, and room for a busy machine
	deadline := time.After(bound)
	for {
		select {
		case addr := <-closed:
			if addr == mine {
				t.Logf("dropped %v after the items were published", time.Since(began).Round(time.Millisecond))
				return
			}
		case <-deadline:
			t.Fatalf("the server still holds the stream of a client that stopped reading %v ago", bound)
		}
	}
}
