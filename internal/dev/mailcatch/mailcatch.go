// Package mailcatch is a real SMTP server that accepts every message and keeps it in
// memory, for development and tests. It can also serve a small read-only web view of
// the caught mail.
//
// It offers no TLS and accepts AUTH PLAIN with any credentials, so production-style
// SMTP URLs work against it unchanged. Never expose it beyond a trusted network.
package mailcatch

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	maxRetained     = 20000
	maxMessageBytes = 10 << 20
)

// Message is a caught message.
type Message struct {
	Received  time.Time           // when the server accepted it (after any SetDelay wait)
	From      string              // envelope MAIL FROM
	To        []string            // envelope RCPT TO
	MessageID string              // Message-ID header without angle brackets
	Subject   string              // decoded
	Text      string              // decoded text/plain part
	HTML      string              // decoded text/html part
	Header    map[string][]string // all top-level header fields, canonical keys
	Raw       []byte
}

// Server is a running mail catcher. Its methods are safe for concurrent use.
type Server struct {
	smtp   *smtp.Server
	smtpLn net.Listener
	http   *http.Server
	httpLn net.Listener
	wg     sync.WaitGroup

	delay atomic.Int64 // time.Duration each message waits before it is accepted

	mu    sync.Mutex
	ring  []Message // the newest messages; once full, ring[next] is the oldest
	next  int
	count int

	closeOnce sync.Once
	closeErr  error
}

// Start listens for SMTP on smtpAddr (e.g. "127.0.0.1:1025" or "127.0.0.1:0") and,
// when httpAddr != "", serves a read-only web view of the caught mail on httpAddr.
func Start(smtpAddr, httpAddr string) (*Server, error) {
	logger := log.New(os.Stderr, "mailcatch: ", log.LstdFlags)

	smtpLn, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return nil, fmt.Errorf("mailcatch: listen for SMTP on %s: %w", smtpAddr, err)
	}
	s := &Server{smtpLn: smtpLn}

	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{srv: s}, nil
	}))
	srv.Domain = "mailcatch"
	srv.MaxMessageBytes = maxMessageBytes
	srv.AllowInsecureAuth = true
	srv.EnableSMTPUTF8 = true
	// Timeouts only reclaim connections from clients that vanished without QUIT.
	srv.ReadTimeout = 5 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = logger
	s.smtp = srv

	if httpAddr != "" {
		s.httpLn, err = net.Listen("tcp", httpAddr)
		if err != nil {
			smtpLn.Close()
			return nil, fmt.Errorf("mailcatch: listen for HTTP on %s: %w", httpAddr, err)
		}
		s.http = &http.Server{
			Handler:           s.handler(),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          logger,
		}
	}

	s.wg.Go(func() {
		if err := srv.Serve(smtpLn); err != nil {
			logger.Printf("SMTP server stopped: %v", err)
		}
	})
	if s.http != nil {
		s.wg.Go(func() {
			if err := s.http.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Printf("HTTP server stopped: %v", err)
			}
		})
	}
	return s, nil
}

// SMTPAddr returns the address the SMTP server listens on.
func (s *Server) SMTPAddr() string { return s.smtpLn.Addr().String() }

// HTTPAddr returns the address the web view listens on, or "" if there is none.
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// URL returns an SMTP URL for the server, suitable for HERALD_SMTP_URL.
func (s *Server) URL() string { return "smtp://" + s.SMTPAddr() + "?tls=none" }

// Count returns the number of messages accepted since Start or the last Reset,
// including those no longer retained.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Messages returns the retained messages (the newest 20000), oldest first. The
// messages share their slices and maps with the server and must not be modified.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.ring))
	out = append(out, s.ring[s.next:]...)
	return append(out, s.ring[:s.next]...)
}

// SetDelay makes the server wait d after each message's data arrives before
// accepting it, standing in for a slow relay in load runs; 0 turns it off. The
// wait is per message and per connection, so connections wait in parallel. It
// applies to messages whose data arrives after the call.
func (s *Server) SetDelay(d time.Duration) { s.delay.Store(int64(max(d, 0))) }

// Reset forgets all messages and sets the count back to zero.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ring, s.next, s.count = nil, 0, 0
}

// Close stops both servers, dropping open connections.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.smtp.Close()
		// smtp.Server.Close only closes listeners that Serve has already registered; closing
		// ours too keeps a Close right after Start from leaving Serve blocked in Accept.
		s.smtpLn.Close()
		if s.http != nil {
			s.closeErr = errors.Join(s.closeErr, s.http.Close())
		}
		s.wg.Wait()
	})
	return s.closeErr
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	if len(s.ring) < maxRetained {
		s.ring = append(s.ring, m)
		return
	}
	s.ring[s.next] = m
	s.next = (s.next + 1) % maxRetained
}

// numbered is a message with its 1-based sequence number since Start or Reset, which
// stays the same while the message is retained and so can be used in links.
type numbered struct {
	Index int
	Message
}

// newest returns up to n of the newest messages, newest first, and the total count.
func (s *Server) newest(n int) ([]numbered, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n = min(n, len(s.ring))
	out := make([]numbered, 0, n)
	for k := len(s.ring) - 1; k >= len(s.ring)-n; k-- {
		out = append(out, s.at(k))
	}
	return out, s.count
}

// lookup finds a message by sequence number or, failing that, by Message-ID (the newest
// one, as a retried send reuses its Message-ID).
func (s *Server) lookup(ref string) (numbered, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, err := strconv.Atoi(ref); err == nil {
		k := n - (s.count - len(s.ring)) - 1
		if k >= 0 && k < len(s.ring) {
			return s.at(k), true
		}
		return numbered{}, false
	}
	id := strings.Trim(ref, "<>")
	for k := len(s.ring) - 1; k >= 0; k-- {
		if m := s.at(k); m.MessageID == id {
			return m, true
		}
	}
	return numbered{}, false
}

// at returns the k-th oldest retained message. s.mu must be held.
func (s *Server) at(k int) numbered {
	return numbered{
		Index:   s.count - len(s.ring) + k + 1,
		Message: s.ring[(s.next+k)%len(s.ring)],
	}
}

// session collects one SMTP transaction at a time; go-smtp uses a session from a single
// goroutine, so only the shared store needs locking.
type session struct {
	srv  *Server
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(_, _, _ string) error { return nil }), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		// Notably smtp.ErrDataTooLarge, which go-smtp turns into a 552 reply.
		return err
	}
	m := parseMessage(raw)
	if d := time.Duration(s.srv.delay.Load()); d > 0 {
		time.Sleep(d)
	}
	// Received is when the message is accepted, so with a delay it includes the wait.
	m.Received = time.Now()
	m.From = s.from
	m.To = s.to
	s.to = nil // the stored message owns the slice now
	s.srv.add(m)
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
