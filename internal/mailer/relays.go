package mailer

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/circuit"
)

// Relays sends through several SMTP relays in priority order, each with its
// own Sender (and connection pool) and a circuit breaker. A message goes to
// the first relay whose breaker is closed; one that relay could not take
// for the relay's own fault (RelayFault: no connection, a dropped session,
// a 421 or another 4xx outside RCPT TO) goes on to the next relay in the
// same call. A relay that fails Threshold messages in a row is skipped for
// a cool-down, then probed with one batch. A message the relay answered
// about (accepted, or refused for its recipient) and a message whose final
// reply never came (ErrUncertain) never go to another relay: the second is
// the one that could arrive twice.
type Relays struct {
	relays []*Sender
	addrs  []string

	mu       sync.Mutex
	breakers []circuit.Breaker
	now      func() time.Time
	onState  func(relay int, addr string, state circuit.State)
}

// RelayOptions tune the breakers of Relays.
type RelayOptions struct {
	// Threshold is how many messages in a row a relay may fail for its own
	// fault before it is skipped (default 3).
	Threshold int
	// Cooldown is how long a relay is skipped (default 30 s).
	Cooldown time.Duration
	// OnState is told each relay's state at the start and at every change
	// (the relay's index in priority order and its host:port); it runs under
	// a lock, so it must be quick (set a gauge).
	OnState func(relay int, addr string, state circuit.State)
	// Now is the clock (time.Now when nil); tests move it.
	Now func() time.Time
}

// SplitURLs splits a HERALD_SMTP_URL that lists several relays, comma
// separated, in priority order. A comma inside a password must be
// percent-encoded (%2C).
func SplitURLs(raw string) []string {
	var urls []string
	for u := range strings.SplitSeq(raw, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// NewRelays parses each relay's SMTP URL (see New); maxConns bounds each
// relay's connections. It does not connect.
func NewRelays(urls []string, from string, maxConns int, opts RelayOptions) (*Relays, error) {
	if len(urls) == 0 {
		return nil, errors.New("mailer: no SMTP URL")
	}
	r := &Relays{now: opts.Now, onState: opts.OnState}
	if r.now == nil {
		r.now = time.Now
	}
	threshold, cooldown := opts.Threshold, opts.Cooldown
	if threshold < 1 {
		threshold = 3
	}
	if cooldown <= 0 {
		cooldown = 30 * time.Second
	}
	for k, u := range urls {
		s, err := New(u, from, maxConns)
		if err != nil {
			r.Close()
			if len(urls) > 1 {
				return nil, fmt.Errorf("relay %d: %w", k+1, err)
			}
			return nil, err
		}
		r.relays = append(r.relays, s)
		r.addrs = append(r.addrs, s.Addr())
		r.breakers = append(r.breakers, circuit.Breaker{Threshold: threshold, Cooldown: cooldown})
	}
	if r.onState != nil {
		for k := range r.relays {
			r.onState(k, r.addrs[k], circuit.Closed)
		}
	}
	return r, nil
}

// Addr is the relay's host:port: what a delivery row records, with no
// credentials.
func (s *Sender) Addr() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// Addrs are the relays' host:port, in priority order.
func (r *Relays) Addrs() []string { return append([]string(nil), r.addrs...) }

// Close closes every relay's Sender.
func (r *Relays) Close() {
	for _, s := range r.relays {
		s.Close()
	}
}

// SendAll sends msgs as Sender.SendAll does, through the relays in priority
// order, skipping those whose breaker is open; when every breaker is open,
// all are tried anyway, so a single relay behaves as it would alone.
// each(i, relay, err) is called exactly once per message: relay is the
// host:port of the relay that accepted it (err == nil), or answered err for
// it, and "" when none did. A message every relay failed gets the last
// relay's error, which is temporary.
func (r *Relays) SendAll(ctx context.Context, msgs []Message, each func(i int, relay string, err error)) {
	if len(msgs) == 0 {
		return
	}
	todo := make([]int, len(msgs))
	for i := range todo {
		todo[i] = i
	}
	last := make(map[int]error)
	for _, k := range r.order() {
		if len(todo) == 0 || ctx.Err() != nil {
			break
		}
		sub := make([]Message, len(todo))
		for j, i := range todo {
			sub[j] = msgs[i]
		}
		var mu sync.Mutex
		var next []int
		r.relays[k].SendAll(ctx, sub, func(j int, err error) {
			i := todo[j]
			switch {
			case err == nil:
				r.record(k, true)
				each(i, r.addrs[k], nil)
			case ctx.Err() == nil && RelayFault(err):
				r.record(k, false)
				mu.Lock()
				next, last[i] = append(next, i), err
				mu.Unlock()
			case errors.Is(err, ErrUncertain) || errors.Is(err, ErrClosed) || ctx.Err() != nil:
				// Says nothing of the relay's health.
				each(i, "", err)
			default:
				// An answer about the message (a refusal) is a relay at work.
				r.record(k, true)
				each(i, r.addrs[k], err)
			}
		})
		todo = next
	}
	for _, i := range todo {
		err := last[i]
		if err == nil {
			err = ctx.Err()
		}
		each(i, "", err)
	}
}

// order is the relays to try, in priority order: those whose breaker lets a
// call through, or all when none does.
func (r *Relays) order() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	var ks []int
	for k := range r.breakers {
		before := r.breakers[k].State()
		if r.breakers[k].Allow(now) {
			ks = append(ks, k)
		}
		r.changed(k, before)
	}
	if len(ks) == 0 {
		for k := range r.breakers {
			ks = append(ks, k)
		}
	}
	return ks
}

// record feeds a message's outcome at relay k to its breaker.
func (r *Relays) record(k int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	before := r.breakers[k].State()
	if ok {
		r.breakers[k].Success()
	} else {
		r.breakers[k].Failure(r.now())
	}
	r.changed(k, before)
}

// changed tells OnState of relay k's new state (r.mu held).
func (r *Relays) changed(k int, before circuit.State) {
	if st := r.breakers[k].State(); st != before && r.onState != nil {
		r.onState(k, r.addrs[k], st)
	}
}

// State is relay k's breaker state.
func (r *Relays) State(k int) circuit.State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.breakers[k].State()
}

// RelayFault reports whether err means the relay, not the message, failed,
// before the relay could have accepted it, so the message may go to another
// relay: no connection (refused, timed out, TLS or authentication failed),
// a session that broke before the end of the data, a 421, a 4xx to MAIL
// FROM, DATA or the end of the data, or a 5xx about the session (an unknown
// command, authentication required). Not a reply about the recipient (any
// reply to RCPT TO other than 421), not a 5xx refusing the message, not an
// invalid message, and never ErrUncertain: that message may have arrived.
func RelayFault(err error) bool {
	// A bare context error is a message never started because the caller's
	// context ended; a dial that timed out on its own comes wrapped.
	if err == nil || err == context.Canceled || err == context.DeadlineExceeded ||
		errors.Is(err, ErrUncertain) || errors.Is(err, ErrClosed) {
		return false
	}
	var invalid *invalidMessageError
	if errors.As(err, &invalid) {
		return false
	}
	var se *SMTPError
	if !errors.As(err, &se) {
		// Connecting failed: dial, greeting, STARTTLS or AUTH.
		return true
	}
	switch {
	case se.Code == 0 || se.Code == 421:
		return true
	case se.Stage == stageRcpt:
		return false
	case se.Code >= 400 && se.Code < 500:
		return true
	}
	return !Permanent(err)
}

// RecipientRejected reports whether err is the relay refusing the message
// for good because of its recipient's address, and says how ("SMTP 550
// 5.1.1"): such an address is worth suppressing. That is a permanent reply
// to RCPT TO that names an address problem (a 5.1.x status other than the
// sender's 5.1.7 and 5.1.8, or a disabled mailbox 5.2.1), or the same
// address statuses in reply to the data. A refusal of the content or by
// policy (5.7.x, "relay access denied") says nothing about the address and
// is not one; nor is a reply with no enhanced status, whatever its code:
// relays that do not send them answer a refused relaying with 550 or 553
// too (Exim's "550 relay not permitted", qmail's 553), and listing on those
// would suppress every recipient of a misconfigured relay for good.
func RecipientRejected(err error) (string, bool) {
	var se *SMTPError
	if !errors.As(err, &se) || !Permanent(err) {
		return "", false
	}
	detail := "SMTP " + strconv.Itoa(se.Code)
	if se.Enhanced != "" {
		detail += " " + se.Enhanced
	}
	addressStatus := func() bool {
		switch {
		case se.Enhanced == "5.1.7" || se.Enhanced == "5.1.8":
			return false
		case strings.HasPrefix(se.Enhanced, "5.1."), se.Enhanced == "5.2.1":
			return true
		}
		return false
	}
	switch se.Stage {
	case stageRcpt, stageData, stageFinal:
		return detail, addressStatus()
	}
	return "", false
}
