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
	"io"
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

	// commandTimeout bounds every exchange after the TCP connect: greeting, STARTTLS and
	// AUTH, and in each message MAIL, RCPT, DATA and writing the body, each on its own.
	commandTimeout = 30 * time.Second

	// finalReplyTimeout bounds the wait for the reply to the final "." of DATA. RFC 5321
	// §4.5.3.2.6 gives this "DATA termination" reply 10 minutes because relays scan or
	// deliver the message before answering; a client that gives up sooner turns a slow
	// acceptance into a message of unknown fate.
	finalReplyTimeout = 10 * time.Minute
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

	// commandTimeout and finalReplyTimeout are the package constants, variable so that
	// tests can provoke timeouts in seconds.
	commandTimeout    time.Duration
	finalReplyTimeout time.Duration
}

// Message is one e-mail to a single recipient.
type Message struct {
	// ID is the Message-ID without angle brackets, e.g. "3f2b...@herald". It is sent
	// verbatim so that a retried send of the same delivery can be recognised downstream.
	// When empty, a random Message-ID is generated.
	ID     string
	To     string // recipient address
	ToName string // optional display name for To
	// FromName replaces the display name of the Sender's From address (a
	// tenant's branding); the address stays the server's, which the relay
	// and SPF/DKIM vouch for.
	FromName string
	Subject  string
	Text     string // text/plain part
	HTML     string // optional text/html alternative; empty means a text-only message
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

	s := &Sender{host: u.Hostname(), commandTimeout: commandTimeout, finalReplyTimeout: finalReplyTimeout}
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
		// only add two round trips per message. attempt resets after failures itself.
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
// rejection from a temporary failure, and SMTPError for the server's reply. A message
// that failed because the connection dropped before the server could have accepted it
// is retried once on a fresh connection. A message whose fate is unknown (its final "."
// was sent but no reply came) is reported with ErrUncertain and never sent again.
//
// When ctx ends, messages already being transmitted are finished, which may take up to
// MaxTransmission, and every message not yet started gets each(i, ctx.Err()). After
// Close, messages left without a connection get ErrClosed. SendAll returns once every
// callback has returned.
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
	err = s.transact(conn, msg)
	if err == nil {
		return conn, false, nil
	}
	var se *SMTPError
	switch {
	case !errors.As(err, &se):
		// Refused locally before anything was sent.
		return conn, false, err
	case se.Code != 0 && se.Code != 421:
		// The server answered, so the connection is in sync, but a rejected MAIL, RCPT or
		// DATA leaves the transaction open.
		if conn.UpdateDeadline(s.commandTimeout) != nil || conn.Reset() != nil {
			s.drop(conn)
			return nil, false, err
		}
		return conn, false, err
	case errors.Is(err, ErrUncertain):
		// The server may have accepted the message: another try could duplicate it.
		s.drop(conn)
		return nil, false, err
	default:
		// No reply (I/O error) or 421 before the message was complete, or 421 instead of
		// accepting it: the connection is gone and the server does not have the message.
		s.drop(conn)
		return nil, true, err
	}
}

// transact runs the SMTP transaction of msg over c. Each step gets its own deadline, so
// that the wait for the final reply can take what RFC 5321 allows without letting a
// stalled command hold the connection for as long.
func (s *Sender) transact(c *smtp.Client, msg *mail.Msg) error {
	from, err := msg.GetSender(false)
	if err != nil {
		return invalidf("no envelope sender: %v", err)
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return invalidf("no envelope recipient: %v", err)
	}
	// build leaves go-mail's default quoted-printable encoding in place, so the message
	// is 7-bit and needs no 8BITMIME from the server.

	step := func(stage string, do func() error) error {
		if err := c.UpdateDeadline(s.commandTimeout); err != nil {
			return &SMTPError{Stage: stage, Err: err}
		}
		if err := do(); err != nil {
			return replyError(c, stage, err)
		}
		return nil
	}
	var w io.WriteCloser
	if ok, _ := c.Extension("PIPELINING"); ok {
		if w, err = s.pipeline(c, from, rcpts); err != nil {
			return err
		}
	} else {
		if err := step(stageMail, func() error { return c.Mail(from) }); err != nil {
			return err
		}
		for _, rcpt := range rcpts {
			if err := step(stageRcpt, func() error { return c.Rcpt(rcpt) }); err != nil {
				return err
			}
		}
		if err := step(stageData, func() (err error) { w, err = c.Data(); return err }); err != nil {
			return err
		}
	}
	// The body is flushed out of go-mail's buffer before the final "." is written, so
	// that a failure to send it is known to have happened while the server could not
	// yet accept the message: such a message is safe to send again.
	err = step(stageBody, func() error {
		if _, err := msg.WriteTo(w); err != nil {
			return err
		}
		return c.Text.W.Flush()
	})
	if err != nil {
		return err
	}
	if err := c.UpdateDeadline(s.finalReplyTimeout); err != nil {
		// Nothing of the final "." has been written.
		return &SMTPError{Stage: stageBody, Err: err}
	}
	// Close writes the final "." and reads the reply. It discards an error from writing
	// the ".", which is just as well: part of it may have reached the server, so a
	// failure there is as uncertain as a missing reply, and shows up as one.
	if err := w.Close(); err != nil {
		return replyError(c, stageFinal, err)
	}
	return nil
}

// pipeline sends MAIL, each RCPT and DATA in one write and then reads their replies in
// order (RFC 2920), for a server that offers PIPELINING: one wait for the server where
// the commands one by one took three, and one write where they took three. Every reply
// is read, even after a refusal, so the session stays in step, and the first refusal is
// the message's error. As without pipelining, nothing of the message has been sent
// until DATA is accepted, so a failure here can never duplicate it.
//
// The MAIL command carries what go-mail's Client.Mail adds for the same server
// (BODY=8BITMIME, SMTPUTF8); Herald sets no DSN options.
func (s *Sender) pipeline(c *smtp.Client, from string, rcpts []string) (io.WriteCloser, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, invalidf("envelope sender contains a line break")
	}
	var b strings.Builder
	b.WriteString("MAIL FROM:" + from)
	if ok, _ := c.Extension("8BITMIME"); ok {
		b.WriteString(" BODY=8BITMIME")
	}
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		b.WriteString(" SMTPUTF8")
	}
	b.WriteString("\r\n")
	for _, rcpt := range rcpts {
		if strings.ContainsAny(rcpt, "\r\n") {
			return nil, invalidf("envelope recipient contains a line break")
		}
		b.WriteString("RCPT TO:" + rcpt + "\r\n")
	}
	b.WriteString("DATA\r\n")
	if err := c.UpdateDeadline(s.commandTimeout); err != nil {
		return nil, &SMTPError{Stage: stageMail, Err: err}
	}
	if _, err := c.Text.W.WriteString(b.String()); err != nil {
		return nil, &SMTPError{Stage: stageMail, Err: err}
	}
	if err := c.Text.W.Flush(); err != nil {
		return nil, &SMTPError{Stage: stageMail, Err: err}
	}
	var refused *SMTPError
	// read reads one reply and reports whether the session is still in step: a reply
	// with a code, even a refusal, keeps it so; no reply at all does not.
	read := func(stage string, want int) (accepted, inStep bool) {
		_, _, err := c.Text.ReadResponse(want)
		if err == nil {
			return true, true
		}
		se := replyError(c, stage, err)
		if refused == nil {
			refused = se
		}
		return false, se.Code != 0
	}
	if _, ok := read(stageMail, 250); !ok {
		return nil, refused
	}
	for range rcpts {
		if _, ok := read(stageRcpt, 25); !ok {
			return nil, refused
		}
	}
	data, ok := read(stageData, 354)
	switch {
	case !ok:
		return nil, refused
	case data && refused != nil:
		// DATA accepted although MAIL or RCPT was refused (RFC 2920 asks servers not
		// to): end the empty message at once; without a recipient it goes nowhere. If
		// that leaves the session out of step, the RSET after the refusal fails and the
		// connection is dropped.
		_ = c.Text.DotWriter().Close()
		_, _, _ = c.Text.ReadResponse(250)
		return nil, refused
	case !data:
		return nil, refused
	}
	return &dotCloser{c: c, WriteCloser: c.Text.DotWriter()}, nil
}

// dotCloser is the message's writer after a pipelined DATA, as go-mail's DataCloser is
// after its own: Close writes the final "." and reads the reply to it.
type dotCloser struct {
	c *smtp.Client
	io.WriteCloser
}

func (d *dotCloser) Close() error {
	// An error writing the "." shows up as a missing reply, as in go-mail's DataCloser.
	_ = d.WriteCloser.Close()
	_, _, err := d.c.Text.ReadResponse(250)
	return err
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
	if m.FromName != "" {
		from.Name = m.FromName
	}
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
// waiting can make a retry succeed. Nor is ErrUncertain: the server did not refuse the
// message, but it must not be retried either.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	var invalid *invalidMessageError
	if errors.As(err, &invalid) {
		return true
	}
	var se *SMTPError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case 500, 502, 503, 504, 530, 534, 535, 538:
		return false
	default:
		return se.Code >= 500 && se.Code <= 599
	}
}
