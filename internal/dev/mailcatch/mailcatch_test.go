package mailcatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/heraldhq/herald/internal/mailer"
)

func start(t *testing.T, httpAddr string) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// send delivers a hand-written message so parsing is tested independently of any
// particular mail library's output.
func send(t *testing.T, addr string, auth sasl.Client, from string, to []string, raw string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if auth != nil {
		if err := c.Auth(auth); err != nil {
			return err
		}
	}
	return c.SendMail(from, to, strings.NewReader(strings.ReplaceAll(raw, "\n", "\r\n")))
}

func TestParsing(t *testing.T) {
	tests := []struct {
		name                string
		raw                 string
		subject, id         string
		text, html          string
		header, headerValue string
	}{
		{
			name:    "bare text without content type",
			raw:     "Subject: hello\nMessage-ID: <a1@test>\n\nline one\nline two\n",
			subject: "hello", id: "a1@test",
			text: "line one\r\nline two",
		},
		{
			name: "RFC 2047 subjects, Q and B, folded",
			raw: "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n =?UTF-8?B?IOKAkyDwn46J?=\nMessage-ID:  <b2@test> \n" +
				"Content-Type: text/plain; charset=utf-8\n\nhi\n",
			subject: "Grüße – 🎉", id: "b2@test",
			text: "hi",
		},
		{
			name: "quoted-printable alternative",
			raw: "Subject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=XX\n\n" +
				"--XX\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n" +
				"Gr=C3=BC=C3=9Fe, a soft=\n break\n" +
				"--XX\nContent-Type: text/html; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n" +
				"<p class=3D\"x\">Gr=C3=BC=C3=9Fe</p>\n" +
				"--XX--\n",
			subject: "alt",
			text:    "Grüße, a soft break",
			html:    `<p class="x">Grüße</p>`,
		},
		{
			name: "base64 html nested in related in mixed, attachment ignored",
			raw: "Subject: nested\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n" +
				"preamble\n--outer\nContent-Type: multipart/related; boundary=\"rel\"\n\n" +
				"--rel\nContent-Type: multipart/alternative; boundary=\"alt\"\n\n" +
				"--alt\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
				"w5xiZXIgYWxsZXM=\n" +
				"--alt\nContent-Type: text/html; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
				"PGI+w5xiZXI8L2I+\nIGFsbGVz\n" +
				"--alt--\n--rel\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw0K\n--rel--\n" +
				"--outer\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nnot the body\n" +
				"--outer--\n",
			subject: "nested",
			text:    "Über alles",
			html:    "<b>Über</b> alles",
		},
		{
			name:    "latin-1 body and header",
			raw:     "Subject: =?ISO-8859-1?Q?caf=E9?=\nContent-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\ncaf=E9\n",
			subject: "café",
			text:    "café",
		},
		{
			name:    "unknown charset falls back to the raw subject",
			raw:     "Subject: =?x-unknown?Q?abc?=\nX-Custom: kept\n\nbody\n",
			subject: "=?x-unknown?Q?abc?=",
			text:    "body",
			header:  "X-Custom", headerValue: "kept",
		},
		{
			name:    "broken multipart keeps headers",
			raw:     "Subject: broken\nContent-Type: multipart/alternative\n\nno boundary here\n",
			subject: "broken",
		},
	}

	s := start(t, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset()
			if err := send(t, s.SMTPAddr(), nil, "sender@test", []string{"rcpt@test", "other@test"}, tt.raw); err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := s.Messages()
			if len(msgs) != 1 {
				t.Fatalf("got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			if m.MessageID != tt.id {
				t.Errorf("MessageID = %q, want %q", m.MessageID, tt.id)
			}
			if m.Text != tt.text {
				t.Errorf("Text = %q, want %q", m.Text, tt.text)
			}
			if m.HTML != tt.html {
				t.Errorf("HTML = %q, want %q", m.HTML, tt.html)
			}
			if m.From != "sender@test" || strings.Join(m.To, ",") != "rcpt@test,other@test" {
				t.Errorf("envelope = %q -> %q", m.From, m.To)
			}
			if tt.header != "" && (len(m.Header[tt.header]) != 1 || m.Header[tt.header][0] != tt.headerValue) {
				t.Errorf("header %s = %q, want %q", tt.header, m.Header[tt.header], tt.headerValue)
			}
			if !strings.Contains(string(m.Raw), "Subject:") || m.Received.IsZero() {
				t.Errorf("Raw or Received not recorded")
			}
		})
	}
}

func TestAuthAndLimits(t *testing.T) {
	s := start(t, "")
	const msg = "Subject: x\n\nbody\n"

	if err := send(t, s.SMTPAddr(), sasl.NewPlainClient("", "anyone", "whatever"), "a@test", []string{"b@test"}, msg); err != nil {
		t.Errorf("AUTH PLAIN with arbitrary credentials: %v", err)
	}

	big := "Subject: big\n\n" + strings.Repeat(strings.Repeat("x", 998)+"\n", maxMessageBytes/999+10)
	err := send(t, s.SMTPAddr(), nil, "a@test", []string{"b@test"}, big)
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 552 {
		t.Errorf("oversized message: err = %v, want 552", err)
	}
	if got := s.Count(); got != 1 {
		t.Errorf("Count = %d, want 1", got)
	}
}

func TestConcurrentSessions(t *testing.T) {
	const conns, perConn = 16, 50
	s := start(t, "")

	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			client, err := smtp.Dial(s.SMTPAddr())
			if err != nil {
				t.Error(err)
				return
			}
			defer func() { _ = client.Close() }()
			for i := range perConn {
				raw := fmt.Sprintf("Message-ID: <%d.%d@test>\r\nSubject: %d/%d\r\n\r\nbody\r\n", c, i, c, i)
				if err := client.SendMail("a@test", []string{"b@test"}, strings.NewReader(raw)); err != nil {
					t.Error(err)
					return
				}
			}
			_ = client.Quit()
		})
	}
	wg.Wait()

	if got := s.Count(); got != conns*perConn {
		t.Errorf("Count = %d, want %d", got, conns*perConn)
	}
	ids := map[string]bool{}
	for _, m := range s.Messages() {
		ids[m.MessageID] = true
	}
	if len(ids) != conns*perConn {
		t.Errorf("%d distinct messages retained, want %d", len(ids), conns*perConn)
	}
}

func TestRetention(t *testing.T) {
	s := &Server{}
	const extra = 5
	for i := range maxRetained + extra {
		s.add(Message{MessageID: fmt.Sprint(i + 1)})
	}
	msgs := s.Messages()
	if len(msgs) != maxRetained || s.Count() != maxRetained+extra {
		t.Fatalf("retained %d of %d, want %d of %d", len(msgs), s.Count(), maxRetained, maxRetained+extra)
	}
	if msgs[0].MessageID != fmt.Sprint(extra+1) || msgs[len(msgs)-1].MessageID != fmt.Sprint(maxRetained+extra) {
		t.Errorf("retained %s..%s, want oldest first from %d", msgs[0].MessageID, msgs[len(msgs)-1].MessageID, extra+1)
	}

	tests := []struct {
		ref    string
		wantID string
	}{
		{fmt.Sprint(extra + 1), fmt.Sprint(extra + 1)},
		{fmt.Sprint(maxRetained + extra), fmt.Sprint(maxRetained + extra)},
		{fmt.Sprint(extra), ""}, // dropped
		{fmt.Sprint(maxRetained + extra + 1), ""},
		{"0", ""},
	}
	for _, tt := range tests {
		m, ok := s.lookup(tt.ref)
		if ok != (tt.wantID != "") || m.MessageID != tt.wantID {
			t.Errorf("lookup(%s) = %q, %v; want %q", tt.ref, m.MessageID, ok, tt.wantID)
		}
	}

	newest, count := s.newest(3)
	if count != maxRetained+extra || len(newest) != 3 || newest[0].Index != maxRetained+extra || newest[2].Index != maxRetained+extra-2 {
		t.Errorf("newest(3) = %+v, count %d", newest, count)
	}

	s.Reset()
	if s.Count() != 0 || len(s.Messages()) != 0 {
		t.Errorf("after Reset: count %d, %d messages", s.Count(), len(s.Messages()))
	}
}

func TestWebView(t *testing.T) {
	s := start(t, "127.0.0.1:0")
	if s.HTTPAddr() == "" {
		t.Fatal("no HTTP address")
	}
	sender, err := mailer.New(s.URL(), "noreply@herald.test", 2)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []mailer.Message{
		{ID: "first@herald", To: "alice@example.com", Subject: "First ✓", Text: "text one", HTML: `<p id="one">html one</p>`},
		{ID: "second@herald", To: "bob@example.com", Subject: "<script>alert(1)</script>", Text: "text two"},
	}
	for _, m := range msgs {
		// One at a time so that the arrival order, and with it the indexes, is known.
		sender.SendAll(context.Background(), []mailer.Message{m}, func(_ int, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	base := "http://" + s.HTTPAddr()

	t.Run("api", func(t *testing.T) {
		body, resp := get(t, base+"/api/messages")
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var list struct {
			Count    int `json:"count"`
			Messages []struct {
				Index     int                 `json:"index"`
				MessageID string              `json:"message_id"`
				Subject   string              `json:"subject"`
				To        []string            `json:"to"`
				Text      string              `json:"text"`
				HTML      string              `json:"html"`
				Header    map[string][]string `json:"header"`
				Raw       json.RawMessage     `json:"Raw"`
			} `json:"messages"`
		}
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		if list.Count != 2 || len(list.Messages) != 2 {
			t.Fatalf("count %d, %d messages; want 2, 2", list.Count, len(list.Messages))
		}
		newest, oldest := list.Messages[0], list.Messages[1]
		if newest.Index != 2 || newest.MessageID != "second@herald" || newest.Subject != msgs[1].Subject {
			t.Errorf("newest = %+v", newest)
		}
		if oldest.Index != 1 || oldest.MessageID != "first@herald" || oldest.Text != "text one" ||
			oldest.HTML != msgs[0].HTML || strings.Join(oldest.To, ",") != "alice@example.com" {
			t.Errorf("oldest = %+v", oldest)
		}
		if len(oldest.Header["Message-Id"]) != 1 || oldest.Raw != nil || strings.Contains(body, `"raw"`) {
			t.Errorf("want headers and no raw message in %s", body)
		}
	})

	pages := []struct {
		path   string
		status int
		want   []string
		reject []string
	}{
		{"/", 200, []string{"First ✓", `href="/messages/1"`, `href="/messages/2"`, "alice@example.com", "&lt;script&gt;alert(1)&lt;/script&gt;"}, []string{"<script>alert(1)"}},
		{"/messages/1", 200, []string{"text one", `sandbox=""`, `srcdoc="&lt;p id=&#34;one&#34;&gt;html one&lt;/p&gt;"`, "first@herald"}, nil},
		{"/messages/first@herald", 200, []string{"text one"}, nil},
		{"/messages/%3Csecond@herald%3E", 200, []string{"text two", "(no HTML part)"}, []string{"<script>alert(1)"}},
		{"/messages/1/raw", 200, []string{"Message-ID: <first@herald>"}, nil},
		{"/messages/3", 404, nil, nil},
		{"/messages/nobody@herald", 404, nil, nil},
		{"/nope", 404, nil, nil},
	}
	for _, p := range pages {
		t.Run(p.path, func(t *testing.T) {
			body, resp := get(t, base+p.path)
			if resp.StatusCode != p.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, p.status)
			}
			for _, w := range p.want {
				if !strings.Contains(body, w) {
					t.Errorf("body lacks %q:\n%s", w, body)
				}
			}
			for _, r := range p.reject {
				if strings.Contains(body, r) {
					t.Errorf("body contains %q", r)
				}
			}
		})
	}

	t.Run("read-only", func(t *testing.T) {
		resp, err := http.Post(base+"/api/messages", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST status %d, want 405", resp.StatusCode)
		}
	})
}

func get(t *testing.T, url string) (string, *http.Response) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp
}

func TestStartClose(t *testing.T) {
	s, err := Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	if s.HTTPAddr() != "" {
		t.Errorf("HTTPAddr = %q without web view", s.HTTPAddr())
	}
	if want := "smtp://" + s.SMTPAddr() + "?tls=none"; s.URL() != want {
		t.Errorf("URL = %q, want %q", s.URL(), want)
	}
	if _, err := Start(s.SMTPAddr(), ""); err == nil {
		t.Error("second Start on the same address succeeded")
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if c, err := smtp.Dial(s.SMTPAddr()); err == nil {
		_ = c.Close()
		t.Error("SMTP still accepting after Close")
	}
}

func TestDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	const conns = 8
	s := start(t, "")
	s.SetDelay(delay)

	// Each connection sends one message; with the delay applied per message on
	// every connection at once, all of them finish in about one delay, far less
	// than the conns*delay a delay serialized across connections would take.
	began := time.Now()
	var wg sync.WaitGroup
	for c := range conns {
		wg.Go(func() {
			sent := time.Now()
			raw := fmt.Sprintf("Message-ID: <%d@delay>\nSubject: slow\n\nbody\n", c)
			if err := send(t, s.SMTPAddr(), nil, "a@test", []string{"b@test"}, raw); err != nil {
				t.Error(err)
				return
			}
			if took := time.Since(sent); took < delay {
				t.Errorf("message %d accepted after %v, want at least %v", c, took, delay)
			}
		})
	}
	wg.Wait()
	if took := time.Since(began); took >= conns*delay {
		t.Errorf("%d delayed messages on %d connections took %v, as if serialized", conns, conns, took)
	}
	msgs := s.Messages()
	if len(msgs) != conns {
		t.Fatalf("got %d messages, want %d", len(msgs), conns)
	}
	for _, m := range msgs {
		if wait := m.Received.Sub(began); wait < delay {
			t.Errorf("message %s Received %v after the first send, want at least %v", m.MessageID, wait, delay)
		}
	}

	s.SetDelay(0)
	sent := time.Now()
	if err := send(t, s.SMTPAddr(), nil, "a@test", []string{"b@test"}, "Subject: fast\n\nbody\n"); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(sent); took >= delay {
		t.Errorf("after SetDelay(0) a message took %v", took)
	}
}
