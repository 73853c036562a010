package mailer

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

const (
	// defaultIdleTimeout bounds how long an unused connection is kept. Servers close idle
	// sessions on their own schedule (Postfix after 10 s when under stress), and the RSET
	// on checkout catches those; the timeout keeps a quiet worker from holding server
	// slots indefinitely.
	defaultIdleTimeout = 30 * time.Second

	// checkTimeout bounds the RSET on checkout and the QUIT when closing an idle
	// connection: a peer that vanished without a FIN must not stall a batch for the full
	// commandTimeout.
	checkTimeout = 10 * time.Second
)

// ErrClosed is reported for every message that needed a connection after Close. It is
// not Permanent: the message was not sent and can be sent again by another process.
var ErrClosed = errors.New("mailer: sender is closed")

// pool limits the SMTP connections of one Sender, in use or idle, to max. Slots, not
// connections, are counted: a slot is taken before dialing and returned when its
// connection is closed, so dials in progress count too.
//
// Invariant: waiters is non-empty only while idle is empty and every slot is taken;
// a returned connection or slot goes to the oldest waiter before anything else.
type pool struct {
	max         int
	idleTimeout time.Duration

	mu      sync.Mutex
	open    int        // slots taken
	idle    []idleConn // oldest first; checkout takes the newest
	waiters []*waiter  // oldest first
	reaper  *time.Timer
	closed  bool
}

type idleConn struct {
	c     *smtp.Client
	since time.Time
}

// waiter is one connection request blocked on a full pool. owner is the batch it
// serves, so handOff can skip requests from the batch that is handing off.
type waiter struct {
	owner *batch
	ch    chan grant // buffered: granting never blocks
}

// grant answers a waiter: a live connection, a bare slot to dial with (conn == nil,
// err == nil), or an error.
type grant struct {
	conn *smtp.Client
	err  error
}

// acquire returns a connection ready for MAIL FROM, holding one slot of the pool until
// it is given back with release, handOff or releaseSlot. It waits while every slot is
// taken, until a connection or slot is returned or ctx ends.
func (s *Sender) acquire(ctx context.Context, owner *batch) (*smtp.Client, error) {
	p := &s.pool
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	if n := len(p.idle); n > 0 {
		ic := p.idle[n-1]
		p.idle[n-1] = idleConn{}
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return s.revive(ctx, ic)
	}
	if p.open < p.max {
		p.open++
		p.mu.Unlock()
		return s.dialSlot(ctx)
	}
	w := &waiter{owner: owner, ch: make(chan grant, 1)}
	p.waiters = append(p.waiters, w)
	p.mu.Unlock()

	select {
	case g := <-w.ch:
		return s.accept(ctx, g)
	case <-ctx.Done():
	}
	p.mu.Lock()
	if i := slices.Index(p.waiters, w); i >= 0 {
		p.waiters = slices.Delete(p.waiters, i, i+1)
		p.mu.Unlock()
		return nil, ctx.Err()
	}
	p.mu.Unlock()
	// Granted while ctx ended: pass the grant on rather than lose the slot.
	if g := <-w.ch; g.err == nil {
		if g.conn != nil {
			s.release(g.conn)
		} else {
			s.releaseSlot()
		}
	}
	return nil, ctx.Err()
}

func (s *Sender) accept(ctx context.Context, g grant) (*smtp.Client, error) {
	switch {
	case g.err != nil:
		return nil, g.err
	case g.conn != nil:
		// Handed over straight after a completed transaction: known good, no RSET needed.
		return g.conn, nil
	default:
		return s.dialSlot(ctx)
	}
}

// revive checks an idle connection with RSET, which also clears any transaction state,
// and falls back to a fresh connection on the same slot when it is stale or dead.
func (s *Sender) revive(ctx context.Context, ic idleConn) (*smtp.Client, error) {
	if time.Since(ic.since) < s.pool.idleTimeout && ic.c.UpdateDeadline(checkTimeout) == nil && ic.c.Reset() == nil {
		return ic.c, nil
	}
	s.drop(ic.c)
	return s.dialSlot(ctx)
}

// dialSlot dials with a slot already taken, giving the slot back if that fails.
func (s *Sender) dialSlot(ctx context.Context) (*smtp.Client, error) {
	c, err := s.dial(ctx)
	if err != nil {
		s.releaseSlot()
		return nil, err
	}
	return c, nil
}

// release gives back a healthy connection: to the oldest waiter, else to the idle pool.
func (s *Sender) release(c *smtp.Client) {
	p := &s.pool
	p.mu.Lock()
	if p.closed {
		p.open--
		p.mu.Unlock()
		s.hangUp(c)
		return
	}
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = slices.Delete(p.waiters, 0, 1)
		p.mu.Unlock()
		w.ch <- grant{conn: c}
		return
	}
	p.idle = append(p.idle, idleConn{c: c, since: time.Now()})
	if p.reaper == nil {
		p.reaper = time.AfterFunc(p.idleTimeout, s.reap)
	}
	p.mu.Unlock()
}

// releaseSlot gives back the slot of a connection that was closed or never opened.
func (s *Sender) releaseSlot() {
	p := &s.pool
	p.mu.Lock()
	if len(p.waiters) > 0 {
		w := p.waiters[0]
		p.waiters = slices.Delete(p.waiters, 0, 1)
		p.mu.Unlock()
		w.ch <- grant{}
		return
	}
	p.open--
	p.mu.Unlock()
}

// handOff passes c to the oldest request of another batch, if there is one, and
// reports whether it did. Handing off after every message when the pool is contended
// shares the connections between concurrent batches instead of letting the batch that
// came first keep them all until it is done.
func (s *Sender) handOff(c *smtp.Client, owner *batch) bool {
	p := &s.pool
	p.mu.Lock()
	i := slices.IndexFunc(p.waiters, func(w *waiter) bool { return w.owner != owner })
	if i < 0 {
		p.mu.Unlock()
		return false
	}
	w := p.waiters[i]
	p.waiters = slices.Delete(p.waiters, i, i+1)
	p.mu.Unlock()
	w.ch <- grant{conn: c}
	return true
}

// reap closes the idle connections that reached the idle timeout and re-arms itself
// for the oldest one left.
func (s *Sender) reap() {
	p := &s.pool
	p.mu.Lock()
	p.reaper = nil
	if p.closed {
		p.mu.Unlock()
		return
	}
	now := time.Now()
	n := 0
	for n < len(p.idle) && now.Sub(p.idle[n].since) >= p.idleTimeout {
		n++
	}
	expired := slices.Clone(p.idle[:n])
	p.idle = slices.Delete(p.idle, 0, n)
	// No waiter can exist while connections were idle, so the slots simply become free.
	p.open -= n
	if len(p.idle) > 0 {
		p.reaper = time.AfterFunc(p.idle[0].since.Add(p.idleTimeout).Sub(now), s.reap)
	}
	p.mu.Unlock()
	hangUpAll(s, expired)
}

// Close ends the idle connections and makes the Sender refuse new connections: from
// then on, a message that needs one gets ErrClosed, and so does every message of a later
// SendAll. SendAll calls in progress finish the messages they are transmitting and send
// their remaining messages only over connections they already hold; each of those is
// closed when its batch lets go of it. Close is safe to call more than once.
func (s *Sender) Close() {
	p := &s.pool
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.reaper != nil {
		p.reaper.Stop()
		p.reaper = nil
	}
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	waiters := p.waiters
	p.waiters = nil
	p.mu.Unlock()

	for _, w := range waiters {
		w.ch <- grant{err: ErrClosed}
	}
	hangUpAll(s, idle)
}

// hangUpAll says QUIT on every connection in parallel, so that closing a full pool of
// unresponsive connections takes one checkTimeout, not one per connection.
func hangUpAll(s *Sender, conns []idleConn) {
	var wg sync.WaitGroup
	for _, ic := range conns {
		wg.Go(func() { s.hangUp(ic.c) })
	}
	wg.Wait()
}
