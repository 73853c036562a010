// Package inboxfeed fans the inbox changes PostgreSQL publishes (LISTEN
// herald_inbox, see migration 016) out to the open streams of one API
// process: one listening connection per process, however many streams, and
// no polling per stream. A slow stream cannot hold up the others: each has
// a bounded buffer, and one that falls behind is dropped (its client
// reconnects and catches up).
package inboxfeed

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Channel is the PostgreSQL notification channel of inbox changes.
const Channel = "herald_inbox"

// Key names one user's inbox.
type Key struct {
	Tenant uuid.UUID
	User   string
}

// Change is one published change of a user's inbox: a new item (or one
// back from snooze), a change of state of some of their items, or the
// user's deletion.
type Change struct {
	Key
	New bool
	ID  uuid.UUID // the new item
	// Deleted: the user is gone, and their streams end (a user created
	// later with the same ID is someone else).
	Deleted bool
}

// ParsePayload reads a herald_inbox payload: "n:<tenant>:<id>:<user>",
// "s:<tenant>:<user>" or "d:<tenant>:<user>" (a deleted user).
func ParsePayload(p string) (Change, bool) {
	kind, rest, ok := strings.Cut(p, ":")
	if !ok {
		return Change{}, false
	}
	tenant, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return Change{}, false
	}
	var c Change
	var err error
	if c.Tenant, err = uuid.Parse(tenant); err != nil {
		return Change{}, false
	}
	switch kind {
	case "n":
		id, user, ok := strings.Cut(rest, ":")
		if !ok {
			return Change{}, false
		}
		if c.ID, err = uuid.Parse(id); err != nil {
			return Change{}, false
		}
		c.New, c.User = true, user
	case "s":
		c.User = rest
	case "d":
		c.User, c.Deleted = rest, true
	default:
		return Change{}, false
	}
	return c, c.User != ""
}

// Message is one Server-Sent Event.
type Message struct {
	Event string
	ID    string // the stream's resume point, when the message has one
	Data  []byte
}

// Resync tells a stream the feed may have missed changes (its listening
// connection was lost): the stream catches up from the database.
var Resync = Message{Event: "resync"}

// Loader turns a batch of changes of users with open streams into each
// user's messages, in one round of queries for the whole batch.
type Loader func(ctx context.Context, changes []Change) (map[Key][]Message, error)

// EndReason says why a stream had to end.
type EndReason int

const (
	// EndUnsubscribed: the stream closed its subscription itself.
	EndUnsubscribed EndReason = iota
	// EndBehind: the stream fell too far behind; its client reconnects and
	// catches up.
	EndBehind
	// EndShutdown: the process is shutting down.
	EndShutdown
	// EndUserDeleted: the stream's user was deleted.
	EndUserDeleted
)

// Sub is one open stream's subscription.
type Sub struct {
	key    Key
	c      chan Message
	done   chan struct{}
	once   sync.Once
	reason EndReason // set once, before done is closed
}

// Messages delivers the stream's messages in order.
func (s *Sub) Messages() <-chan Message { return s.c }

// Done is closed when the stream must end: it fell behind, its user was
// deleted, or the process is shutting down. Reason then says which.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Reason is why the stream ended; read it once Done is closed.
func (s *Sub) Reason() EndReason {
	select {
	case <-s.done:
		return s.reason
	default:
		return EndUnsubscribed
	}
}

func (s *Sub) end(why EndReason) {
	s.once.Do(func() { s.reason = why; close(s.done) })
}

// Hub is one process's feed.
type Hub struct {
	load    Loader
	connect func(context.Context) (*pgx.Conn, error)
	log     *slog.Logger
	// Buffer bounds each stream's undelivered messages.
	Buffer int
	// Poll, when set, is called every PollEvery while the feed runs, for
	// changes no statement publishes (snoozed items coming back).
	Poll      func(ctx context.Context, since, until time.Time) ([]Change, error)
	PollEvery time.Duration
	// OnStreams, when set, is told the number of open streams as it changes.
	OnStreams func(n int)

	mu      sync.Mutex
	subs    map[Key]map[*Sub]struct{}
	n       int
	pending []Change
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	kick    chan struct{}
	// polled is where the last poll ended; it carries over reconnects, so
	// a snooze that ended while the connection was down is still seen.
	polled time.Time
}

// New returns a hub that listens on connections from connect and loads
// messages with load. It starts listening with its first stream.
func New(connect func(context.Context) (*pgx.Conn, error), load Loader, log *slog.Logger) *Hub {
	return &Hub{connect: connect, load: load, log: log, Buffer: 256, PollEvery: time.Second,
		subs: map[Key]map[*Sub]struct{}{}, kick: make(chan struct{}, 1)}
}

// Subscribe opens a stream of k's changes. Subscribe before reading the
// stream's catch-up, so nothing falls between the two.
func (h *Hub) Subscribe(k Key) *Sub {
	s := &Sub{key: k, c: make(chan Message, h.Buffer), done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.end(EndShutdown)
		return s
	}
	if h.subs[k] == nil {
		h.subs[k] = map[*Sub]struct{}{}
	}
	h.subs[k][s] = struct{}{}
	h.n++
	h.streamsChanged()
	if !h.started {
		h.started = true
		h.polled = time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		h.cancel = cancel
		h.wg.Add(2)
		go func() { defer h.wg.Done(); h.listen(ctx) }()
		go func() { defer h.wg.Done(); h.dispatch(ctx) }()
	}
	return s
}

// Unsubscribe closes a stream's subscription.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.remove(s, EndUnsubscribed)
}

func (h *Hub) remove(s *Sub, why EndReason) {
	if set := h.subs[s.key]; set != nil {
		if _, ok := set[s]; ok {
			delete(set, s)
			h.n--
			h.streamsChanged()
		}
		if len(set) == 0 {
			delete(h.subs, s.key)
		}
	}
	s.end(why)
}

func (h *Hub) streamsChanged() {
	if h.OnStreams != nil {
		h.OnStreams(h.n)
	}
}

// Close ends every stream and stops listening; streams opened later end at
// once. Shutting down calls it, so open streams do not hold the server.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for _, set := range h.subs {
		for s := range set {
			h.remove(s, EndShutdown)
		}
	}
	cancel := h.cancel
	h.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	h.wg.Wait()
}

// Publish queues changes for the streams open on their users. A deleted
// user's streams end at once, before any change published after the
// deletion (a successor's first item) can reach them.
func (h *Hub) Publish(changes ...Change) {
	h.mu.Lock()
	for _, c := range changes {
		if c.Deleted {
			for s := range h.subs[c.Key] {
				h.remove(s, EndUserDeleted)
			}
			continue
		}
		if len(h.subs[c.Key]) > 0 {
			h.pending = append(h.pending, c)
		}
	}
	queued := len(h.pending) > 0
	h.mu.Unlock()
	if queued {
		select {
		case h.kick <- struct{}{}:
		default:
		}
	}
}

// dispatch loads and delivers queued changes in batches: everything that
// arrived while the last batch loaded goes in the next one.
func (h *Hub) dispatch(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.kick:
		}
		h.mu.Lock()
		batch := h.pending
		h.pending = nil
		h.mu.Unlock()
		if len(batch) == 0 {
			continue
		}
		msgs, err := h.load(ctx, batch)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			// The streams cannot tell what they missed: they catch up.
			h.log.Warn("loading inbox changes for streams", "changes", len(batch), "error", err)
			h.broadcast(Resync)
			continue
		}
		h.mu.Lock()
		for k, ms := range msgs {
			for s := range h.subs[k] {
				h.deliver(s, ms...)
			}
		}
		h.mu.Unlock()
	}
}

// deliver hands messages to a stream, dropping a stream whose buffer is
// full: its client reconnects and catches up. Called with h.mu held.
func (h *Hub) deliver(s *Sub, ms ...Message) {
	for _, m := range ms {
		select {
		case s.c <- m:
		default:
			h.remove(s, EndBehind)
			return
		}
	}
}

func (h *Hub) broadcast(m Message) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, set := range h.subs {
		for s := range set {
			h.deliver(s, m)
		}
	}
}

// listen holds the LISTEN connection, reconnecting with backoff when it is
// lost; after a reconnect every stream catches up, since changes published
// meanwhile were not heard.
func (h *Hub) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := h.connect(ctx)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN "+Channel)
		}
		if err != nil {
			if conn != nil {
				_ = conn.Close(context.Background())
			}
			if ctx.Err() != nil {
				return
			}
			h.log.Warn("listening for inbox changes", "error", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		// Changes published before LISTEN took hold were not heard: on a
		// reconnect, and on the first connection too (the streams that
		// started the feed opened before it listened).
		h.broadcast(Resync)
		err = h.receive(ctx, conn)
		_ = conn.Close(context.Background())
		if ctx.Err() == nil {
			h.log.Warn("lost the inbox changes connection; reconnecting", "error", err)
		}
	}
}

// receive publishes the connection's notifications until it fails, and
// polls for snoozed items coming back between them.
func (h *Hub) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, h.PollEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			if c, ok := ParsePayload(n.Payload); ok {
				h.Publish(c)
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case !errors.Is(err, context.DeadlineExceeded):
			return err
		}
		if h.Poll != nil && time.Since(h.polled) >= h.PollEvery {
			now := time.Now()
			changes, err := h.Poll(ctx, h.polled, now)
			if err != nil {
				h.log.Warn("looking for snoozed items coming back", "error", err)
				continue
			}
			h.polled = now
			h.Publish(changes...)
		}
	}
}
