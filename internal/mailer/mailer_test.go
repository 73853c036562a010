package mailer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/heraldhq/herald/internal/dev/mailcatch"
	"github.com/heraldhq/herald/internal/mailer"
)

// result records the callbacks of one SendAll call and checks each message got exactly one.
type result struct {
	mu    sync.Mutex
	errs  map[int]error
	calls map[int]int
}

func sendAll(t *testing.T, ctx context.Context, s *mailer.Sender, msgs []mailer.Message) *result {
	t.Helper()
	r := &result{errs: map[int]error{}, calls: map[int]int{}}
	s.SendAll(ctx, msgs, func(i int, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls[i]++
		r.errs[i] = err
	})
	if len(r.calls) != len(msgs) {
		t.Fatalf("each called for %d distinct messages, want %d", len(r.calls), len(msgs))
	}
	for i, n := range r.calls {
		if n != 1 {
			t.Errorf("each called %d times for message %d, want 1", n, i)
		}
	}
	return r
}

func startCatcher(t *testing.T) *mailcatch.Server {
	t.Helper()
	srv, err := mailcatch.Start("127.0.0.1:0", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func newSender(t *testing.T, url string, maxConns int) *mailer.Sender {
	t.Helper()
	s, err := mailer.New(url, `"Herald Notifications" <noreply@herald.test>`, maxConns)
	if err != nil {
		t.Fatalf("New(%q): %v", url, err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestSendAllDeliversContent(t *testing.T) {
	longSubject := "Grüße aus Köln – Ihre Bestellung №4711 ist unterwegs 🚚 und kommt bald bei Ihnen an, versprochen"
	tests := []struct {
		name string
		msg  mailer.Message
	}{
		{
			name: "text and html with headers",
			msg: mailer.Message{
				ID:      "0b9f6c1e-delivery@herald",
				To:      "alice@example.com",
				ToName:  `Alice "Al" Müller`,
				Subject: longSubject,
				Text:    "Hallo Alice,\n\nÜmlaute, € und eine sehr lange Zeile " + strings.Repeat("lorem ipsum ", 20) + "\n.\n..leading dots\nBye",
				HTML:    `<p>Hallo <b>Alice</b> – <a href="https://herald.test/x?a=1&amp;b=2">link</a></p>` + strings.Repeat("<span>€</span>", 40),
				Headers: map[string]string{
					"X-Herald-Delivery-ID": "0b9f6c1e",
					"List-Unsubscribe":     "<https://herald.test/unsubscribe/abc>, <mailto:unsub@herald.test>",
					"Reply-To":             "Support <support@herald.test>",
				},
			},
		},
		{
			name: "text only",
			msg: mailer.Message{
				ID:      "text-only@herald",
				To:      "bob@example.com",
				Subject: "Plain ASCII",
				Text:    "just text",
			},
		},
		{
			name: "html only",
			msg: mailer.Message{
				ID:      "html-only@herald",
				To:      "carol@example.com",
				Subject: "Nur HTML ✓",
				HTML:    "<h1>Überschrift</h1>",
			},
		},
	}

	srv := startCatcher(t)
	s := newSender(t, srv.URL(), 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Reset()
			r := sendAll(t, context.Background(), s, []mailer.Message{tt.msg})
			if err := r.errs[0]; err != nil {
				t.Fatalf("send: %v", err)
			}
			msgs := srv.Messages()
			if len(msgs) != 1 {
				t.Fatalf("caught %d messages, want 1", len(msgs))
			}
			got := msgs[0]

			if got.Subject != tt.msg.Subject {
				t.Errorf("Subject = %q, want %q", got.Subject, tt.msg.Subject)
			}
			if got.MessageID != tt.msg.ID {
				t.Errorf("MessageID = %q, want %q", got.MessageID, tt.msg.ID)
			}
			if text := strings.ReplaceAll(got.Text, "\r\n", "\n"); text != tt.msg.Text {
				t.Errorf("Text = %q, want %q", text, tt.msg.Text)
			}
			if html := strings.ReplaceAll(got.HTML, "\r\n", "\n"); html != tt.msg.HTML {
				t.Errorf("HTML = %q, want %q", html, tt.msg.HTML)
			}
			if len(got.To) != 1 || got.To[0] != tt.msg.To {
				t.Errorf("envelope To = %q, want [%q]", got.To, tt.msg.To)
			}
			if got.From != "noreply@herald.test" {
				t.Errorf("envelope From = %q, want noreply@herald.test", got.From)
			}
			to, err := netmail.ParseAddress(first(got.Header["To"]))
			if err != nil {
				t.Fatalf("To header %q: %v", got.Header["To"], err)
			}
			if to.Address != tt.msg.To || to.Name != tt.msg.ToName {
				t.Errorf("To header = %q <%s>, want %q <%s>", to.Name, to.Address, tt.msg.ToName, tt.msg.To)
			}
			from, err := netmail.ParseAddress(first(got.Header["From"]))
			if err != nil || from.Name != "Herald Notifications" {
				t.Errorf("From header = %q (%v), want display name Herald Notifications", got.Header["From"], err)
			}
			for name, want := range tt.msg.Headers {
				if name == "Reply-To" {
					addr, err := netmail.ParseAddress(first(got.Header["Reply-To"]))
					if err != nil || addr.Address != "support@herald.test" {
						t.Errorf("Reply-To = %q (%v)", got.Header["Reply-To"], err)
					}
					continue
				}
				if v := first(got.Header[textproto.CanonicalMIMEHeaderKey(name)]); v != want {
					t.Errorf("header %s = %q, want %q", name, v, want)
				}
			}
			for _, h := range []string{"Date", "Mime-Version"} {
				if len(got.Header[h]) != 1 {
					t.Errorf("header %s = %q, want exactly one", h, got.Header[h])
				}
			}
		})
	}
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

func TestSendAllConcurrent(t *testing.T) {
	const n = 200
	srv := startCatcher(t)
	s := newSender(t, srv.URL(), 4)

	msgs := make([]mailer.Message, n)
	for i := range msgs {
		msgs[i] = mailer.Message{
			ID:      fmt.Sprintf("m%03d@herald", i),
			To:      fmt.Sprintf("user%d@example.com", i),
			Subject: fmt.Sprintf("message %d", i),
			Text:    "hello",
			HTML:    "<p>hello</p>",
		}
	}
	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if got := srv.Count(); got != n {
		t.Fatalf("caught %d messages, want %d", got, n)
	}
	seen := map[string]bool{}
	for _, m := range srv.Messages() {
		seen[m.MessageID] = true
	}
	for _, m := range msgs {
		if !seen[m.ID] {
			t.Errorf("message %s not caught", m.ID)
		}
	}
}

// testBackend is a go-smtp backend with scripted failures, used where mailcatch (which
// accepts everything) cannot provoke the behaviour under test.
type testBackend struct {
	// dropAfter makes a session close its connection on the MAIL FROM following that
	// many accepted messages (0 = never).
	dropAfter int

	// acceptedHook, when set, receives a value for every accepted message.
	acceptedHook chan struct{}
	// dataGate, when set, holds every DATA until it is closed.
	dataGate chan struct{}
	// finalDelay holds back the reply to every final "." this long after reading the
	// message, like a relay that scans content before answering.
	finalDelay time.Duration
	// noFinalReply makes a session hang up after reading a message, without a reply.
	noFinalReply bool

	mu       sync.Mutex
	sessions int
	active   int
	maxConc  int
	received int // messages read up to their final "."
	accepted []string
}

func (b *testBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sessions++
	b.active++
	b.maxConc = max(b.maxConc, b.active)
	return &testSession{b: b, conn: c}, nil
}

func (b *testBackend) stats() (sessions, maxConc int, accepted []string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions, b.maxConc, append([]string(nil), b.accepted...)
}

// seen is the number of messages the server read to the end, accepted or not.
func (b *testBackend) seen() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.received
}

type testSession struct {
	b    *testBackend
	conn *smtp.Conn
	n    int
	rcpt string
}

func (s *testSession) Mail(string, *smtp.MailOptions) error {
	if s.b.dropAfter > 0 && s.n >= s.b.dropAfter {
		s.conn.Conn().Close()
		return errors.New("dropping connection")
	}
	return nil
}

func (s *testSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	switch {
	case strings.HasPrefix(to, "bounce@"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	case strings.HasPrefix(to, "later@"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "try again later"}
	}
	s.rcpt = to
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	if s.b.dataGate != nil {
		<-s.b.dataGate
	}
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.b.mu.Lock()
	s.b.received++
	s.b.mu.Unlock()
	switch {
	case s.b.noFinalReply:
		s.conn.Conn().Close()
		return errors.New("hanging up without a reply")
	case strings.HasPrefix(s.rcpt, "defer-final@"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "scanner busy"}
	case strings.HasPrefix(s.rcpt, "refuse-final@"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "message refused"}
	}
	time.Sleep(s.b.finalDelay)
	s.n++
	s.b.mu.Lock()
	s.b.accepted = append(s.b.accepted, s.rcpt)
	s.b.mu.Unlock()
	if s.b.acceptedHook != nil {
		s.b.acceptedHook <- struct{}{}
	}
	return nil
}

func (s *testSession) Reset() {}

func (s *testSession) Logout() error {
	s.b.mu.Lock()
	s.b.active--
	s.b.mu.Unlock()
	return nil
}

// startTestServer runs b on a loopback port; with tlsConfig set it offers STARTTLS.
func startTestServer(t *testing.T, b smtp.Backend, tlsConfig *tls.Config) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serve(t, ln, b, tlsConfig)
	return ln.Addr().String()
}

// startCountedServer runs b on a loopback port and counts its TCP connections.
func startCountedServer(t *testing.T, b smtp.Backend) (string, *connCounter) {
	return startDroppingServer(t, b, "")
}

// startDroppingServer is startCountedServer whose first command starting with dropOn
// (e.g. "RCPT") gets no reply: the connection is closed instead.
func startDroppingServer(t *testing.T, b smtp.Backend, dropOn string) (string, *connCounter) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &connCounter{Listener: ln, dropOn: dropOn, conns: map[*countedConn]bool{}}
	serve(t, cl, b, nil)
	return ln.Addr().String(), cl
}

func serve(t *testing.T, ln net.Listener, b smtp.Backend, tlsConfig *tls.Config) {
	t.Helper()
	srv := smtp.NewServer(b)
	srv.Domain = "test.local"
	srv.TLSConfig = tlsConfig
	srv.ErrorLog = log.New(io.Discard, "", 0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		ln.Close()
		<-done
	})
}

// connCounter is a listener that counts the connections the server accepted and still
// has open, and the RSET commands clients sent.
type connCounter struct {
	net.Listener

	// dropOn, when set, makes the server hang up on the first command line starting with
	// it, without a reply, once in the listener's life.
	dropOn string

	mu      sync.Mutex
	total   int
	maxOpen int
	rsets   int
	dropped bool
	conns   map[*countedConn]bool // open
}

func (l *connCounter) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, l: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	l.conns[cc] = true
	l.maxOpen = max(l.maxOpen, len(l.conns))
	return cc, nil
}

// stats reports the connections accepted so far, the most open at once, those open now
// and the RSET commands received.
func (l *connCounter) stats() (total, maxOpen, open, rsets int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.maxOpen, len(l.conns), l.rsets
}

// hangUpAll closes every open connection from the server side, like a server restart or
// an idle timeout of the server would.
func (l *connCounter) hangUpAll() {
	l.mu.Lock()
	conns := make([]*countedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// waitOpen polls until the server has want connections open.
func (l *connCounter) waitOpen(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, open, _ := l.stats()
		if open == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server has %d connections open, want %d", open, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type countedConn struct {
	net.Conn
	l       *connCounter
	once    sync.Once
	partial []byte // command line read up to now
}

// Read counts RSET lines and hangs up on dropOn. Message bodies in these tests never
// contain a line that looks like either.
func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.partial = append(c.partial, p[:n]...)
	for {
		line, rest, ok := strings.Cut(string(c.partial), "\r\n")
		if !ok {
			break
		}
		c.l.mu.Lock()
		if strings.EqualFold(line, "RSET") {
			c.l.rsets++
		}
		drop := c.l.dropOn != "" && !c.l.dropped && strings.HasPrefix(strings.ToUpper(line), c.l.dropOn)
		if drop {
			c.l.dropped = true
		}
		c.l.mu.Unlock()
		if drop {
			_ = c.Close()
			return 0, net.ErrClosed
		}
		c.partial = []byte(rest)
	}
	return n, err
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// plainMessages is n minimal messages to u0@example.com, u1@… .
func plainMessages(n int) []mailer.Message {
	msgs := make([]mailer.Message, n)
	for i := range msgs {
		msgs[i] = mailer.Message{To: fmt.Sprintf("u%d@example.com", i), Subject: "s", Text: "t"}
	}
	return msgs
}

func TestConnectionsAreReused(t *testing.T) {
	b := &testBackend{}
	addr := startTestServer(t, b, nil)
	s := newSender(t, "smtp://"+addr, 4)

	msgs := plainMessages(200)
	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	sessions, maxConc, accepted := b.stats()
	if len(accepted) != len(msgs) {
		t.Errorf("server accepted %d messages, want %d", len(accepted), len(msgs))
	}
	if sessions < 1 || sessions > 4 {
		t.Errorf("used %d SMTP sessions, want 1..4", sessions)
	}
	if maxConc > 4 {
		t.Errorf("%d concurrent sessions, want at most 4", maxConc)
	}
}

func TestPoolKeepsConnectionsBetweenBatches(t *testing.T) {
	addr, server := startCountedServer(t, &testBackend{})
	s := newSender(t, "smtp://"+addr, 2)

	for batch := range 2 {
		r := sendAll(t, context.Background(), s, plainMessages(20))
		for i, err := range r.errs {
			if err != nil {
				t.Fatalf("batch %d, message %d: %v", batch, i, err)
			}
		}
	}
	total, maxOpen, open, rsets := server.stats()
	if total > 2 || maxOpen > 2 {
		t.Errorf("two batches opened %d connections, at most %d at once; want at most 2 in all", total, maxOpen)
	}
	if open != total {
		t.Errorf("%d of %d connections open after the batches, want all kept for reuse", open, total)
	}
	// Each connection the second batch took from the idle pool was checked with RSET;
	// none of the first batch's fresh ones were.
	if rsets < 1 || rsets > total {
		t.Errorf("server saw %d RSETs for %d reused connections", rsets, total)
	}
}

func TestConcurrentBatchesShareMaxConns(t *testing.T) {
	const maxConns, batches, perBatch = 3, 6, 25
	b := &testBackend{}
	addr, server := startCountedServer(t, b)
	s := newSender(t, "smtp://"+addr, maxConns)

	var wg sync.WaitGroup
	results := make([]*result, batches)
	for k := range batches {
		wg.Go(func() {
			msgs := plainMessages(perBatch)
			for i := range msgs {
				msgs[i].To = fmt.Sprintf("b%d-u%d@example.com", k, i)
			}
			results[k] = sendAll(t, context.Background(), s, msgs)
		})
	}
	wg.Wait()
	for k, r := range results {
		for i, err := range r.errs {
			if err != nil {
				t.Errorf("batch %d, message %d: %v", k, i, err)
			}
		}
	}
	_, _, accepted := b.stats()
	if len(accepted) != batches*perBatch {
		t.Errorf("server accepted %d messages, want %d", len(accepted), batches*perBatch)
	}
	total, maxOpen, _, _ := server.stats()
	if maxOpen > maxConns || total > maxConns {
		t.Errorf("%d connections in all, %d open at once; want at most %d", total, maxOpen, maxConns)
	}
}

// TestLateBatchIsNotStarved starts a one-message batch while a long batch holds every
// connection: it must get a connection while the long one is still sending, not after.
func TestLateBatchIsNotStarved(t *testing.T) {
	const long = 500
	b := &testBackend{}
	b.acceptedHook = make(chan struct{}, long+1)
	addr := startTestServer(t, b, nil)
	s := newSender(t, "smtp://"+addr, 2)

	done := make(chan struct{})
	go func() {
		defer close(done)
		sendAll(t, context.Background(), s, plainMessages(long))
	}()
	for range 10 {
		<-b.acceptedHook
	}
	r := sendAll(t, context.Background(), s, []mailer.Message{{To: "late@example.com", Subject: "s", Text: "t"}})
	if err := r.errs[0]; err != nil {
		t.Fatalf("late message: %v", err)
	}
	<-done
	_, _, accepted := b.stats()
	pos := slices.Index(accepted, "late@example.com")
	if pos < 0 || pos == len(accepted)-1 {
		t.Errorf("late message accepted at position %d of %d, want before the long batch ends", pos, len(accepted))
	}
}

// TestWaitingBatchHonoursContext cancels a batch that waits for the only connection:
// it must give up at once, send nothing, and leave the connection usable.
func TestWaitingBatchHonoursContext(t *testing.T) {
	b := &testBackend{dataGate: make(chan struct{})}
	addr, server := startCountedServer(t, b)
	s := newSender(t, "smtp://"+addr, 1)
	gate := sync.OnceFunc(func() { close(b.dataGate) })
	t.Cleanup(gate)

	holder := make(chan *result)
	go func() { holder <- sendAll(t, context.Background(), s, plainMessages(1)) }()
	server.waitOpen(t, 1)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	waited := make(chan *result)
	go func() { waited <- sendAll(t, ctx, s, plainMessages(3)) }()
	select {
	case r := <-waited:
		for i, err := range r.errs {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("waiting message %d: err = %v, want context.DeadlineExceeded", i, err)
			}
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendAll kept waiting for a connection after its context ended")
	}

	gate()
	if err := (<-holder).errs[0]; err != nil {
		t.Fatalf("holding batch: %v", err)
	}
	// A slot lost to the cancelled wait would leave this batch waiting forever.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := sendAll(t, ctx, s, plainMessages(2))
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("message %d after the cancelled wait: %v", i, err)
		}
	}
	if total, _, _, _ := server.stats(); total != 1 {
		t.Errorf("%d connections in all, want the one connection reused", total)
	}
	if _, _, accepted := b.stats(); len(accepted) != 3 {
		t.Errorf("server accepted %d messages, want 3 (none from the cancelled batch)", len(accepted))
	}
}

func TestIdleConnectionClosedByServerIsReplaced(t *testing.T) {
	b := &testBackend{}
	addr, server := startCountedServer(t, b)
	s := newSender(t, "smtp://"+addr, 2)

	msgs := plainMessages(6)
	sendAll(t, context.Background(), s, msgs)
	total, _, _, _ := server.stats()
	server.hangUpAll()
	server.waitOpen(t, 0)

	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("message %d after the server hung up: %v", i, err)
		}
	}
	_, _, accepted := b.stats()
	if len(accepted) != 2*len(msgs) {
		t.Errorf("server accepted %d messages, want %d", len(accepted), 2*len(msgs))
	}
	if after, _, _, _ := server.stats(); after <= total {
		t.Errorf("no new connection after the server closed all %d", total)
	}
}

func TestIdleConnectionsExpire(t *testing.T) {
	addr, server := startCountedServer(t, &testBackend{})
	s := newSender(t, "smtp://"+addr, 2)
	mailer.SetIdleTimeout(s, 50*time.Millisecond)

	msgs := plainMessages(4)
	sendAll(t, context.Background(), s, msgs)
	before, _, _, _ := server.stats()
	// The Sender closes them itself: nothing else would.
	server.waitOpen(t, 0)

	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("message %d after idle expiry: %v", i, err)
		}
	}
	total, _, _, rsets := server.stats()
	if total <= before {
		t.Errorf("expired connections were reused: %d connections before, %d after", before, total)
	}
	if rsets != 0 {
		t.Errorf("server saw %d RSETs, want none: expired connections are closed, not checked", rsets)
	}
}

func TestClose(t *testing.T) {
	addr, server := startCountedServer(t, &testBackend{})
	s := newSender(t, "smtp://"+addr, 2)

	msgs := plainMessages(4)
	sendAll(t, context.Background(), s, msgs)
	s.Close()
	server.waitOpen(t, 0)
	s.Close()

	before, _, _, _ := server.stats()
	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if !errors.Is(err, mailer.ErrClosed) || mailer.Permanent(err) {
			t.Errorf("message %d after Close: err = %v, want temporary ErrClosed", i, err)
		}
	}
	if total, _, _, _ := server.stats(); total != before {
		t.Errorf("closed Sender opened %d connections", total-before)
	}
}

func TestReconnectsAfterDroppedConnection(t *testing.T) {
	b := &testBackend{dropAfter: 3}
	addr := startTestServer(t, b, nil)
	s := newSender(t, "smtp://"+addr, 1)

	msgs := plainMessages(10)
	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if err != nil {
			t.Errorf("message %d: %v", i, err)
		}
	}
	sessions, _, accepted := b.stats()
	if len(accepted) != len(msgs) {
		t.Errorf("server accepted %d messages, want %d", len(accepted), len(msgs))
	}
	if sessions != 4 {
		t.Errorf("used %d sessions, want 4 (3 messages each)", sessions)
	}
}

func TestRejections(t *testing.T) {
	b := &testBackend{}
	addr := startTestServer(t, b, nil)
	s := newSender(t, "smtp://"+addr, 1)

	tests := []struct {
		msg       mailer.Message
		wantErr   bool
		permanent bool
		contains  string
	}{
		{msg: mailer.Message{To: "ok1@example.com"}},
		{msg: mailer.Message{To: "bounce@example.com"}, wantErr: true, permanent: true, contains: "550"},
		{msg: mailer.Message{To: "ok2@example.com"}},
		{msg: mailer.Message{To: "later@example.com"}, wantErr: true, permanent: false, contains: "451"},
		{msg: mailer.Message{To: "not an address"}, wantErr: true, permanent: true, contains: "recipient"},
		{msg: mailer.Message{To: "ok3@example.com", ID: "<bracketed@herald>"}, wantErr: true, permanent: true, contains: "Message-ID"},
		{msg: mailer.Message{To: "ok4@example.com", ID: "no-at-sign"}, wantErr: true, permanent: true, contains: "Message-ID"},
		{msg: mailer.Message{To: "ok5@example.com", Headers: map[string]string{"Bad Name": "x"}}, wantErr: true, permanent: true, contains: "header"},
		{msg: mailer.Message{To: "ok6@example.com", Headers: map[string]string{"subject": "x"}}, wantErr: true, permanent: true, contains: "cannot be overridden"},
		{msg: mailer.Message{To: "ok7@example.com", Headers: map[string]string{"X-Evil": "a\r\nBcc: victim@example.com"}}},
		{msg: mailer.Message{To: "ok8@example.com"}},
	}
	msgs := make([]mailer.Message, len(tests))
	for i, tt := range tests {
		msgs[i] = tt.msg
		msgs[i].Subject, msgs[i].Text = "s", "t"
	}
	r := sendAll(t, context.Background(), s, msgs)
	for i, tt := range tests {
		err := r.errs[i]
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error: %v", tt.msg.To, err, tt.wantErr)
			continue
		}
		if got := mailer.Permanent(err); got != tt.permanent {
			t.Errorf("%s: Permanent(%v) = %v, want %v", tt.msg.To, err, got, tt.permanent)
		}
		if err != nil && !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("%s: error %q does not mention %q", tt.msg.To, err, tt.contains)
		}
	}
	sessions, _, accepted := b.stats()
	if want := []string{"ok1@example.com", "ok2@example.com", "ok7@example.com", "ok8@example.com"}; strings.Join(accepted, ",") != strings.Join(want, ",") {
		t.Errorf("accepted %v, want %v", accepted, want)
	}
	if sessions != 1 {
		t.Errorf("used %d sessions, want 1: rejections must not cost the connection", sessions)
	}
}

// TestSlowFinalReplyIsAwaited has a relay take longer to answer the final "." than any
// command may take: the mailer must wait for the answer, as RFC 5321 allows, rather than
// give up and leave a message that would be sent again.
func TestSlowFinalReplyIsAwaited(t *testing.T) {
	b := &testBackend{finalDelay: 3 * time.Second}
	addr := startTestServer(t, b, nil)
	s := newSender(t, "smtp://"+addr, 1)
	mailer.SetTimeouts(s, time.Second, 5*time.Second)

	r := sendAll(t, context.Background(), s, plainMessages(1))
	if err := r.errs[0]; err != nil {
		t.Fatalf("send: %v", err)
	}
	sessions, _, accepted := b.stats()
	if seen := b.seen(); seen != 1 || len(accepted) != 1 || sessions != 1 {
		t.Errorf("server read %d messages and accepted %d over %d sessions, want 1, 1, 1", seen, len(accepted), sessions)
	}
}

// TestNoFinalReplyIsUncertain covers messages that were sent in full but never answered:
// the server may have accepted them, so the mailer must say so and not send them again.
func TestNoFinalReplyIsUncertain(t *testing.T) {
	tests := []struct {
		name string
		b    *testBackend
	}{
		{"server hangs up after the message", &testBackend{noFinalReply: true}},
		{"reply later than the final-reply timeout", &testBackend{finalDelay: 3 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := startTestServer(t, tt.b, nil)
			s := newSender(t, "smtp://"+addr, 1)
			mailer.SetTimeouts(s, time.Second, time.Second)

			r := sendAll(t, context.Background(), s, plainMessages(1))
			err := r.errs[0]
			if !errors.Is(err, mailer.ErrUncertain) {
				t.Fatalf("err = %v, want ErrUncertain", err)
			}
			if mailer.Permanent(err) {
				t.Errorf("Permanent(%v) = true, want false", err)
			}
			var se *mailer.SMTPError
			if !errors.As(err, &se) || se.Stage != "final" || se.Code != 0 {
				t.Errorf("err = %#v, want an SMTPError of stage final without a reply code", err)
			}
			sessions, _, _ := tt.b.stats()
			if seen := tt.b.seen(); seen != 1 || sessions != 1 {
				t.Errorf("server read the message %d times over %d sessions, want once over 1", seen, sessions)
			}
		})
	}
}

// TestDropBeforeDataIsRetried has the server hang up before the message could be
// transmitted: it cannot have been accepted, so it is sent again on a fresh connection.
func TestDropBeforeDataIsRetried(t *testing.T) {
	for _, cmd := range []string{"RCPT", "DATA"} {
		t.Run(cmd, func(t *testing.T) {
			b := &testBackend{}
			addr, server := startDroppingServer(t, b, cmd)
			s := newSender(t, "smtp://"+addr, 1)

			r := sendAll(t, context.Background(), s, plainMessages(1))
			if err := r.errs[0]; err != nil {
				t.Fatalf("send: %v", err)
			}
			_, _, accepted := b.stats()
			if seen := b.seen(); seen != 1 || len(accepted) != 1 {
				t.Errorf("server read %d messages and accepted %d, want 1 and 1", seen, len(accepted))
			}
			if total, _, _, _ := server.stats(); total != 2 {
				t.Errorf("%d connections, want 2: the dropped one and its replacement", total)
			}
		})
	}
}

// TestFinalReplyRejections answers the final "." with 451 and 550: the message was not
// accepted, and the caller learns how from the reply code.
func TestFinalReplyRejections(t *testing.T) {
	b := &testBackend{}
	addr := startTestServer(t, b, nil)
	s := newSender(t, "smtp://"+addr, 1)

	msgs := []mailer.Message{
		{To: "defer-final@example.com", Subject: "s", Text: "t"},
		{To: "refuse-final@example.com", Subject: "s", Text: "t"},
		{To: "ok@example.com", Subject: "s", Text: "t"},
	}
	r := sendAll(t, context.Background(), s, msgs)
	for i, want := range []struct {
		code      int
		enhanced  string
		permanent bool
	}{{451, "4.7.1", false}, {550, "5.7.1", true}} {
		err := r.errs[i]
		var se *mailer.SMTPError
		if !errors.As(err, &se) {
			t.Errorf("%s: err = %v, want an SMTPError", msgs[i].To, err)
			continue
		}
		if se.Stage != "final" || se.Code != want.code || se.Enhanced != want.enhanced {
			t.Errorf("%s: stage %q, code %d, enhanced %q; want final, %d, %q", msgs[i].To, se.Stage, se.Code, se.Enhanced, want.code, want.enhanced)
		}
		if errors.Is(err, mailer.ErrUncertain) {
			t.Errorf("%s: a refused message reported as uncertain: %v", msgs[i].To, err)
		}
		if got := mailer.Permanent(err); got != want.permanent {
			t.Errorf("%s: Permanent(%v) = %v, want %v", msgs[i].To, err, got, want.permanent)
		}
	}
	if err := r.errs[2]; err != nil {
		t.Errorf("message after the rejections: %v", err)
	}
	sessions, _, accepted := b.stats()
	if seen := b.seen(); seen != 3 || len(accepted) != 1 || sessions != 1 {
		t.Errorf("server read %d messages and accepted %d over %d sessions, want 3, 1, 1", seen, len(accepted), sessions)
	}
}

func TestPermanentOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("boom"), context.Canceled, &net.OpError{Op: "dial", Err: errors.New("refused")}} {
		if mailer.Permanent(err) {
			t.Errorf("Permanent(%v) = true, want false", err)
		}
	}
}

func TestTLSModes(t *testing.T) {
	plain := startCatcher(t).SMTPAddr()
	starttls := startTestServer(t, &testBackend{}, selfSignedTLS(t))

	tests := []struct {
		name    string
		url     string
		wantErr string // empty: must succeed
	}{
		{"tls=none on plain server", "smtp://" + plain + "?tls=none", ""},
		{"opportunistic on plain server", "smtp://" + plain, ""},
		{"auth over plain localhost", "smtp://user:s3cret@" + plain, ""},
		{"auth with tls=none", "smtp://user:s3cret@" + plain + "?tls=none", ""},
		{"smtps on plain server", "smtps://" + plain, "tls"},
		{"opportunistic uses offered STARTTLS", "smtp://" + starttls, "certificate"},
		{"tls=none ignores offered STARTTLS", "smtp://" + starttls + "?tls=none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSender(t, tt.url, 2)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			msgs := []mailer.Message{{To: "a@example.com", Subject: "s", Text: "t"}, {To: "b@example.com", Subject: "s", Text: "t"}}
			r := sendAll(t, ctx, s, msgs)
			for i, err := range r.errs {
				switch {
				case tt.wantErr == "" && err != nil:
					t.Errorf("message %d: %v", i, err)
				case tt.wantErr != "" && err == nil:
					t.Errorf("message %d: sent, want error mentioning %q", i, tt.wantErr)
				case tt.wantErr != "" && !strings.Contains(strings.ToLower(err.Error()), tt.wantErr):
					t.Errorf("message %d: error %q does not mention %q", i, err, tt.wantErr)
				case err != nil && mailer.Permanent(err):
					t.Errorf("message %d: connection error %v reported as permanent", i, err)
				case err != nil && strings.Contains(err.Error(), "s3cret"):
					t.Errorf("message %d: error leaks password: %v", i, err)
				}
			}
		})
	}
}

// selfSignedTLS returns a server config whose certificate no client trusts, so a
// client that attempts TLS fails verifiably.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestUnreachableServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	s := newSender(t, "smtp://user:s3cret@"+addr, 3)
	msgs := make([]mailer.Message, 5)
	for i := range msgs {
		msgs[i] = mailer.Message{To: "a@example.com", Subject: "s", Text: "t"}
	}
	r := sendAll(t, context.Background(), s, msgs)
	for i, err := range r.errs {
		if err == nil {
			t.Fatalf("message %d: sent to a closed port", i)
		}
		if mailer.Permanent(err) {
			t.Errorf("message %d: connection error %v reported as permanent", i, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("message %d: error leaks password: %v", i, err)
		}
	}
}

func TestCancel(t *testing.T) {
	srv := startCatcher(t)
	s := newSender(t, srv.URL(), 1)
	msgs := plainMessages(20)

	t.Run("before start", func(t *testing.T) {
		srv.Reset()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := sendAll(t, ctx, s, msgs)
		for i, err := range r.errs {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("message %d: err = %v, want context.Canceled", i, err)
			}
		}
		if n := srv.Count(); n != 0 {
			t.Errorf("caught %d messages after cancelled send", n)
		}
	})

	t.Run("midway", func(t *testing.T) {
		srv.Reset()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var mu sync.Mutex
		sent := 0
		errs := map[int]error{}
		s.SendAll(ctx, msgs, func(i int, err error) {
			mu.Lock()
			defer mu.Unlock()
			errs[i] = err
			if err == nil {
				if sent++; sent == 5 {
					cancel()
				}
			}
		})
		if len(errs) != len(msgs) {
			t.Fatalf("each called for %d messages, want %d", len(errs), len(msgs))
		}
		canceled := 0
		for _, err := range errs {
			if errors.Is(err, context.Canceled) {
				canceled++
			}
		}
		if sent != 5 || canceled != len(msgs)-5 {
			t.Errorf("sent %d, cancelled %d; want 5 and %d", sent, canceled, len(msgs)-5)
		}
		if n := srv.Count(); n != 5 {
			t.Errorf("caught %d messages, want 5", n)
		}
	})
}

func TestNewErrors(t *testing.T) {
	const from = "noreply@herald.test"
	tests := []struct {
		name     string
		url      string
		from     string
		contains string
	}{
		{"bad scheme", "http://user:hunter2@mail.example.com", from, `scheme "http"`},
		{"no scheme", "mail.example.com:587", from, "scheme"},
		{"missing host", "smtp://user:hunter2@", from, "no host"},
		{"missing host with port", "smtp://user:hunter2@:587", from, "no host"},
		{"bad port", "smtp://user:hunter2@mail.example.com:99999", from, "port"},
		{"non-numeric port", "smtp://user:hunter2@mail.example.com:abc", from, "port"},
		{"bad escape in password", "smtp://user:hun%zzter2@mail.example.com", from, "user or password"},
		{"unescaped slash in password", "smtp://user:hu/nter2@mail.example.com", from, "user or password"},
		{"space in host", "smtp://user:hunter2@mail example.com", from, "invalid SMTP URL"},
		{"unescaped question mark in password", "smtp://user:hun?ter2@mail.example.com", from, "user or password"},
		{"unescaped hash in password", "smtp://user:hun#ter2@mail.example.com", from, "user or password"},
		{"opaque form", "smtp:user:hunter2@mail.example.com", from, "user or password"},
		{"host forgotten", "smtp://user:hunter2", from, "malformed SMTP URL"},
		{"unknown tls mode", "smtp://user:hunter2@mail.example.com?tls=off", from, "tls"},
		{"unknown parameter", "smtp://user:hunter2@mail.example.com?foo=bar", from, `"foo"`},
		{"empty url", "", from, "scheme"},
		{"bad from", "smtp://user:hunter2@mail.example.com", "not an address", "from address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mailer.New(tt.url, tt.from, 1)
			if err == nil {
				t.Fatalf("New(%q) succeeded, want error", tt.url)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not mention %q", err, tt.contains)
			}
			for _, secret := range []string{"hunter2", "hun", "ter2"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q leaks the password", err)
				}
			}
		})
	}
}
