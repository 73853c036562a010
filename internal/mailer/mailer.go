// Package mailer delivers Herald's e-mail over SMTP using github.com/wneessen/go-mail.
//
// A Sender is configured once from an SMTP URL and sends batches of messages over a pool
// of connections shared by every batch in the process, reporting the outcome of every
// message individually so the caller can record each delivery as soon as it is known.
package mailer

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

const (
	// Port 587 (submission) rather than 25: an application hands mail to a relay, and
	// providers commonly block or throttle outbound port 25.
	defaultSMTPPort  = 587
	defaultSMTPSPort = 465

	dialTimeout = 10 * time.Second

	// commandTimeout bounds every exchange after the TCP connect (greeting, STARTTLS, AUTH
	// and each message transaction). It is longer than dialTimeout because relays may
	// scan a message before answering the end of DATA.
	commandTimeout = 30 * time.Second
)

// Sender sends mail through one SMTP server over at most maxConns connections, shared
// by all its concurrent SendAll calls and kept open between them. It is safe for
// concurrent use and meant to be created once per process; Close ends its idle
// connections.
type Sender struct {
	client      *mail.Client
	from        netmail.Address
	host        string
	port        int
	implicitTLS bool
	tlsPolicy   mail.TLSPolicy // STARTTLS policy; irrelevant with implicitTLS
	tlsConfig   *tls.Config
	pool        pool
}

// Message is one e-mail to a single recipient.
type Message struct {
	// ID is the Message-ID without angle brackets, e.g. "3f2b...@herald". It is sent
	// verbatim so that a retried send of the same delivery can be recognised downstream.
	// When empty, a random Message-ID is generated.
	ID      string
	To      string // recipient address
	ToName  string // optional display name for To
	Subject string
	Text    string // text/plain part
	HTML    string // optional text/html alternative; empty means a text-only message
	// Headers are extra header fields such as X-Herald-Delivery-ID or List-Unsubscribe.
	// Fields the Sender sets itself (From, Sender, To, Cc, Bcc, Subject, Message-ID, Date,
	// MIME-Version, Content-Type, Content-Transfer-Encoding) are rejected as invalid.
	// Reply-To is accepted and parsed as an address list.
	Headers map[string]string
}

// New parses an SMTP URL and a From address. It does not connect.
//
// Supported URLs:
//
//	smtp://[user:pass@]host[:port]      STARTTLS required; default port 587
//	smtp://[user:pass@]loopback[:port]  STARTTLS when the server offers it, plain otherwise
//	smtps://[user:pass@]host[:port]     implicit TLS; default port 465
//	...?tls=none                        never use TLS, whatever the scheme
//
// Loopback means localhost, 127.0.0.0/8 or ::1: mail that never leaves the machine
// (a local relay or catcher) may go unencrypted, but a connection to any other host
// fails rather than silently fall back to plain text.
//
// Credentials are optional and are sent with AUTH PLAIN. They are only sent over an
// encrypted connection or to localhost, unless tls=none explicitly allows plain text.
// maxConns is the number of SMTP connections the Sender keeps open at most, across all
// concurrent SendAll calls; values below 1 mean 1.
func New(smtpURL, from string, maxConns int) (*Sender, error) {
	u, err := parseURL(smtpURL)
	if err != nil {
		return nil, err
	}

	s := &Sender{host: u.Hostname()}
	s.pool.max = max(maxConns, 1)
	s.pool.idleTimeout = defaultIdleTimeout
	switch u.Scheme {
	case "smtp":
		s.port = defaultSMTPPort
	case "smtps":
		s.port = defaultSMTPSPort
		s.implicitTLS = true
	default:
		return nil, fmt.Errorf("mailer: unsupported SMTP URL scheme %q in %s (want smtp or smtps)", u.Scheme, u.Redacted())
	}
	if s.host == "" {
		return nil, fmt.Errorf("mailer: SMTP URL %s has no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("mailer: SMTP URL %s has invalid port %q", u.Redacted(), p)
		}
		s.port = n
	}

	noTLS := false
	for key, vals := range u.Query() {
		switch {
		case key == "tls" && len(vals) == 1 && strings.EqualFold(vals[0], "none"):
			noTLS = true
		case key == "tls":
			return nil, fmt.Errorf("mailer: SMTP URL %s: unsupported tls value %q (only tls=none is supported)", u.Redacted(), strings.Join(vals, ","))
		default:
			// Rejecting unknown parameters catches typos such as ?tsl=none, which would
			// otherwise silently leave TLS behaviour unchanged.
			return nil, fmt.Errorf("mailer: SMTP URL %s: unknown parameter %q", u.Redacted(), key)
		}
	}
	if noTLS {
		s.implicitTLS = false
	}
	s.tlsPolicy = startTLSPolicy(s.host, noTLS)

	addr, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("mailer: invalid from address %q: %w", from, err)
	}
	s.from = *addr

	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(commandTimeout),
		mail.WithTLSConfig(s.tlsConfig),
		// go-mail joins host and port with "%s:%d", which breaks IPv6 literals, and does not
		// close the connection when the greeting or STARTTLS fails; s.dialContext fixes both.
		mail.WithDialContextFunc(s.dialContext),
		// Per RFC 5321 a completed DATA already resets the transaction and a dead connection
		// shows up on MAIL FROM anyway, so NOOP before and RSET after every message would
		// only add two round trips per message. deliver resets after failures itself.
		mail.WithoutNoop(),
		mail.WithoutRset(),
	}
	if s.implicitTLS {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(s.tlsPolicy))
	}
	if user := u.User.Username(); user != "" {
		pass, _ := u.User.Password()
		auth := mail.SMTPAuthPlain
		if noTLS {
			auth = mail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(user), mail.WithPassword(pass))
	}

	s.client, err = mail.NewClient(s.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mailer: configure SMTP client for %s: %w", u.Redacted(), err)
	}
	return s, nil
}

// startTLSPolicy decides whether an smtp:// connection to host must, may or must not
// upgrade with STARTTLS. Only literal loopback names count as loopback: resolving the
// name here would let a DNS answer downgrade the connection.
func startTLSPolicy(host string, noTLS bool) mail.TLSPolicy {
	switch {
	case noTLS:
		return mail.NoTLS
	case isLoopback(host):
		return mail.TLSOpportunistic
	default:
		return mail.TLSMandatory
	}
}

func isLoopback(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errCredentials is deliberately vague: the text around a mis-escaped password is
// likely to contain part of it.
var errCredentials = errors.New("mailer: invalid user or password in SMTP URL (percent-encode special characters such as @ / ? # %)")

// parseURL parses raw without ever echoing the password. url.Parse errors quote the
// whole input, so on failure the credentials are cut off and only the rest is diagnosed.
func parseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err == nil {
		// An '@' outside the user info means an unescaped '/', '?' or '#' in the password
		// moved part of it into the path, query or fragment, where Redacted would show it.
		if strings.Contains(u.Opaque+u.EscapedPath()+u.RawQuery+u.Fragment, "@") {
			return nil, errCredentials
		}
		return u, nil
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	at := strings.LastIndex(rest, "@")
	if !ok || at < 0 {
		// Without a recognisable user info there is no telling which part is a password
		// (think "smtp://user:pass" with the host forgotten), so show none of the input.
		return nil, errors.New("mailer: malformed SMTP URL, want smtp[s]://[user:password@]host[:port][?tls=none]")
	}
	// The last '@' is used because an unescaped password may itself contain '@' or '/'.
	if _, err := url.Parse(scheme + "://" + rest[at+1:]); err != nil {
		return nil, fmt.Errorf("mailer: invalid SMTP URL (credentials hidden): %w", err)
	}
	return nil, errCredentials
}

// SendAll sends msgs over up to maxConns connections of the Sender's pool in parallel,
// reusing each connection for many messages and reconnecting when one breaks. When
// other SendAll calls hold every connection it waits for one; when other calls are
// waiting, it passes its connections on after each message, so concurrent batches
// share the pool rather than queue behind one another.
//
// each(i, err) is called exactly once per message, from any goroutine, as soon as
// message i has been accepted (err == nil) or has failed. It runs on the goroutine that
// owns a connection, so a slow callback holds that connection up. Use Permanent to tell a
// rejection from a temporary failure. A message that failed because the connection
// dropped before it was transmitted is retried once on a fresh connection; a message
// whose fate is unknown (the connection dropped after its data was sent) is reported as
// a temporary error, and its stable Message-ID makes the possible duplicate recognisable.
//
// When ctx ends, messages already being transmitted are finished, and every message not
// yet started gets each(i, ctx.Err()). After Close, messages left without a connection
// get ErrClosed. SendAll returns once every callback has returned.
func (s *Sender) SendAll(ctx context.Context, msgs []Message, each func(i int, err error)) {
	if len(msgs) == 0 {
		return
	}
	b := &batch{todo: make([]int, len(msgs))}
	for i := range b.todo {
		b.todo[i] = i
	}

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stopErr error
	)
	for range min(s.pool.max, len(msgs)) {
		wg.Go(func() {
			if err := s.work(ctx, b, msgs, each); err != nil {
				mu.Lock()
				if stopErr == nil {
					stopErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	// Messages are left over only when every worker stopped early, i.e. ctx ended, the
	// Sender was closed or no connection could be established.
	err := ctx.Err()
	if err == nil {
		err = stopErr
	}
	for _, i := range b.todo {
		each(i, err)
	}
}

// batch is the queue of one SendAll call's messages that have not been started.
type batch struct {
	mu   sync.Mutex
	todo []int
}

func (b *batch) take() (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.todo) == 0 {
		return 0, false
	}
	i := b.todo[0]
	b.todo = b.todo[1:]
	return i, true
}

// putBack returns a message that was taken but not started.
func (b *batch) putBack(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.todo = append([]int{i}, b.todo...)
}

// work sends messages of b over one connection at a time until b is drained.
// It returns an error when it stops early because ctx ended or it could not get a
// connection; a connection failure does not fail a message by itself, so other
// workers that did connect (e.g. below a server's per-client connection limit) carry
// on with the queue.
func (s *Sender) work(ctx context.Context, b *batch, msgs []Message, each func(int, error)) error {
	var conn *smtp.Client
	defer func() {
		if conn != nil {
			s.release(conn)
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		// The message is taken before the connection so that a worker of this batch
		// waits for a connection only when there is something left to send.
		i, ok := b.take()
		if !ok {
			return nil
		}
		if conn == nil {
			c, err := s.acquire(ctx, b)
			if err == nil && ctx.Err() != nil {
				// Got one just as ctx ended: the message has not started, so it gets ctx.Err().
				s.release(c)
				err = ctx.Err()
			}
			if err != nil {
				b.putBack(i)
				return err
			}
			conn = c
		}
		var err error
		conn, err = s.deliver(ctx, conn, &msgs[i])
		if conn == nil {
			s.releaseSlot()
		}
		each(i, err)
		if conn != nil && s.handOff(conn, b) {
			conn = nil
		}
	}
}

// deliver sends m over conn and returns the connection to use for the next message,
// which is nil when conn had to be dropped. The pool slot of conn stays taken either
// way.
func (s *Sender) deliver(ctx context.Context, conn *smtp.Client, m *Message) (*smtp.Client, error) {
	conn, retry, err := s.attempt(conn, m)
	if !retry || ctx.Err() != nil {
		return conn, err
	}
	fresh, dialErr := s.dial(ctx)
	if dialErr != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		// The dial outlived the context: starting the send now could run
		// past the time the caller leased this message for.
		return fresh, ctx.Err()
	}
	conn, _, err = s.attempt(fresh, m)
	return conn, err
}

// attempt makes one try at sending m over conn. retry reports that the connection broke
// before the server could have accepted m, so sending it again cannot duplicate it.
func (s *Sender) attempt(conn *smtp.Client, m *Message) (next *smtp.Client, retry bool, err error) {
	msg, err := s.build(m)
	if err != nil {
		return conn, false, err
	}
	sendErr := s.client.SendWithSMTPClient(conn, msg)
	if msg.IsDelivered() {
		// go-mail still reports errors that happen after the server accepted the message;
		// the message is delivered, only the connection is suspect.
		if sendErr != nil {
			s.drop(conn)
			return nil, false, nil
		}
		return conn, false, nil
	}
	if sendErr == nil {
		// Not delivered yet no error: cannot happen with go-mail v0.8.1, but must not be
		// reported as success.
		s.drop(conn)
		return nil, false, errors.New("mailer: message was not accepted by the server")
	}
	err = fmt.Errorf("mailer: %w", sendErr)

	var se *mail.SendError
	if !errors.As(sendErr, &se) {
		s.drop(conn)
		return nil, false, err
	}
	switch se.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		// Rejected locally before anything was sent.
		return conn, false, err
	}
	code := se.ErrorCode()
	if code != 0 && code != 421 {
		// The server answered, so the connection is in sync, but go-mail leaves the
		// transaction open after some failures (e.g. a rejected DATA).
		if conn.Reset() != nil {
			s.drop(conn)
			return nil, false, err
		}
		return conn, false, err
	}
	// No reply (I/O error) or 421: the connection is gone. Only when the data had been
	// sent without a reply is the outcome unknown; in every other case the server never
	// accepted the message and it is safe to send again.
	s.drop(conn)
	return nil, !(se.Reason == mail.ErrSMTPDataClose && code == 0), err
}

// invalidMessageError marks a message that can never be sent as given.
type invalidMessageError struct{ msg string }

func (e *invalidMessageError) Error() string { return "mailer: " + e.msg }

func invalidf(format string, args ...any) error {
	return &invalidMessageError{msg: fmt.Sprintf(format, args...)}
}

// reservedHeaders are set by build itself; letting Message.Headers override them would
// produce duplicate or contradictory fields. Keys are in canonical MIME form.
var reservedHeaders = map[string]bool{
	"From": true, "Sender": true, "To": true, "Cc": true, "Bcc": true, "Subject": true,
	"Message-Id": true, "Date": true, "Mime-Version": true,
	"Content-Type": true, "Content-Transfer-Encoding": true,
}

// build turns m into a go-mail message, validating everything that would otherwise
// surface as a confusing server error.
func (s *Sender) build(m *Message) (*mail.Msg, error) {
	to, err := netmail.ParseAddress(m.To)
	if err != nil {
		return nil, invalidf("invalid recipient address %q: %v", m.To, err)
	}
	if m.ToName != "" {
		to.Name = m.ToName
	}

	msg := mail.NewMsg(mail.WithNoDefaultUserAgent())
	from := s.from
	msg.FromMailAddress(&from)
	// ToMailAddress instead of AddToFormat: the latter builds `"name" <addr>` by string
	// formatting and breaks on names containing quotes.
	msg.ToMailAddress(to)
	msg.Subject(m.Subject)
	if m.ID != "" {
		if err := validMessageID(m.ID); err != nil {
			return nil, err
		}
		msg.SetMessageIDWithValue(m.ID)
	}
	msg.SetDate()

	for name, value := range m.Headers {
		key := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case !validHeaderName(name):
			return nil, invalidf("invalid header name %q", name)
		case reservedHeaders[key]:
			return nil, invalidf("header %q is set by the mailer and cannot be overridden", name)
		case key == "Reply-To":
			addrs, err := netmail.ParseAddressList(value)
			if err != nil {
				return nil, invalidf("invalid Reply-To %q: %v", value, err)
			}
			msg.SetAddrHeaderFromMailAddress(mail.HeaderReplyTo, addrs...)
		default:
			// SetGenHeader RFC 2047-encodes values with non-ASCII or control characters,
			// which also keeps CR/LF in a value from injecting header lines.
			msg.SetGenHeader(mail.Header(name), value)
		}
	}

	switch {
	case m.HTML == "":
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
	case m.Text == "":
		msg.SetBodyString(mail.TypeTextHTML, m.HTML)
	default:
		msg.SetBodyString(mail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(mail.TypeTextHTML, m.HTML)
	}
	return msg, nil
}

// validMessageID checks id against the shape of an RFC 5322 msg-id without its brackets.
func validMessageID(id string) error {
	if strings.Count(id, "@") != 1 || strings.HasPrefix(id, "@") || strings.HasSuffix(id, "@") {
		return invalidf("invalid Message-ID %q: want left@right without angle brackets", id)
	}
	for _, r := range id {
		if r <= ' ' || r >= 0x7f || r == '<' || r == '>' {
			return invalidf("invalid Message-ID %q: want left@right without angle brackets", id)
		}
	}
	return nil
}

// validHeaderName reports whether name is an RFC 5322 field name.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// connKey carries a *net.Conn slot from dial to dialContext so that dial can close a
// connection go-mail abandons after a failed handshake.
type connKey struct{}

func (s *Sender) dialContext(ctx context.Context, network, _ string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	addr := net.JoinHostPort(s.host, strconv.Itoa(s.port))
	d := &net.Dialer{}
	var (
		conn net.Conn
		err  error
	)
	if s.implicitTLS {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tlsConfig}).DialContext(ctx, network, addr)
	} else {
		conn, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, err
	}
	if slot, ok := ctx.Value(connKey{}).(*net.Conn); ok {
		*slot = conn
	}
	return conn, nil
}

// dial opens an SMTP session ready for sending: greeting, EHLO, STARTTLS and AUTH done.
func (s *Sender) dial(ctx context.Context) (*smtp.Client, error) {
	var raw net.Conn
	c, err := s.client.DialToSMTPClientWithContext(context.WithValue(ctx, connKey{}, &raw))
	if err != nil {
		if raw != nil {
			_ = raw.Close()
		}
		return nil, fmt.Errorf("mailer: connect to %s: %w", net.JoinHostPort(s.host, strconv.Itoa(s.port)), err)
	}
	return c, nil
}

// hangUp ends a healthy session politely.
func (s *Sender) hangUp(c *smtp.Client) {
	if c == nil {
		return
	}
	// The deadline left from the last command may have passed while the connection sat
	// idle, which would fail the QUIT at once.
	if c.UpdateDeadline(checkTimeout) != nil || s.client.CloseWithSMTPClient(c) != nil {
		_ = c.Close()
	}
}

// drop closes a connection that is broken or in an unknown state, without QUIT.
func (s *Sender) drop(c *smtp.Client) {
	if c != nil {
		_ = c.Close()
	}
}

// Permanent reports whether err is a permanent rejection of the message: an SMTP 5xx
// reply to the message or its recipient, or a message the mailer refuses as invalid
// (bad address, header or Message-ID). Retrying such a message will not help.
//
// Connection, TLS and authentication failures, 4xx replies, and 5xx replies that
// concern the session rather than the message (unknown command, bad sequence,
// authentication required or failed) are not permanent: fixing the configuration or
// waiting can make a retry succeed.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var invalid *invalidMessageError
	if errors.As(err, &invalid) {
		return true
	}
	var se *mail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts:
		return true
	case mail.ErrConnCheck, mail.ErrSMTPReset:
		return false
	}
	switch code := se.ErrorCode(); code {
	case 500, 502, 503, 504, 530, 534, 535, 538:
		return false
	default:
		return code >= 500 && code <= 599
	}
}
