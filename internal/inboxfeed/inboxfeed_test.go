package inboxfeed

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

func TestParsePayload(t *testing.T) {
	tenant, id := uuid.New(), uuid.New()
	c, ok := ParsePayload("n:" + tenant.String() + ":" + id.String() + ":user:with:colons")
	if !ok || !c.New || c.Tenant != tenant || c.ID != id || c.User != "user:with:colons" {
		t.Fatalf("new item: %+v %v", c, ok)
	}
	c, ok = ParsePayload("s:" + tenant.String() + ":u1")
	if !ok || c.New || c.User != "u1" {
		t.Fatalf("state: %+v %v", c, ok)
	}
	c, ok = ParsePayload("d:" + tenant.String() + ":u:1")
	if !ok || !c.Deleted || c.New || c.Tenant != tenant || c.User != "u:1" {
		t.Fatalf("deleted: %+v %v", c, ok)
	}
	for _, bad := range []string{"", "x:" + tenant.String() + ":u", "n:" + tenant.String() + ":u", "s:nope:u", "s:" + tenant.String() + ":", "d:" + tenant.String() + ":"} {
		if _, ok := ParsePayload(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A stream that stops reading is dropped when its buffer fills; the others
// get every message in order.
func TestSlowStreamIsDroppedOthersKeepUp(t *testing.T) {
	blocked := func(ctx context.Context) (*pgx.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
	load := func(_ context.Context, cs []Change) (map[Key][]Message, error) {
		out := map[Key][]Message{}
		for _, c := range cs {
			out[c.Key] = append(out[c.Key], Message{Event: "n", ID: c.ID.String()})
		}
		return out, nil
	}
	h := New(blocked, load, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h.Buffer = 4
	k := Key{Tenant: uuid.New(), User: "u"}
	slow, fast := h.Subscribe(k), h.Subscribe(k)
	defer h.Close()
	var want []string
	got := make(chan string, 100)
	go func() {
		for m := range fast.Messages() {
			got <- m.ID
		}
	}()
	for range 20 {
		id := uuid.New()
		want = append(want, id.String())
		h.Publish(Change{Key: k, New: true, ID: id})
		time.Sleep(time.Millisecond)
	}
	for i, w := range want {
		select {
		case g := <-got:
			if g != w {
				t.Fatalf("message %d: %s, want %s", i, g, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("the reading stream got %d of %d messages", i, len(want))
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(time.Second):
		t.Fatal("the stream that does not read was not dropped")
	}
	select {
	case <-fast.Done():
		t.Fatal("the reading stream was dropped")
	default:
	}
	h.Close()
	select {
	case <-fast.Done():
	case <-time.After(time.Second):
		t.Fatal("Close did not end the stream")
	}
	if s := h.Subscribe(k); s != nil {
		select {
		case <-s.Done():
		default:
			t.Fatal("a stream opened after Close is open")
		}
	}
}

// A deleted user's streams end at once, saying so, and nothing published
// for their ID afterwards reaches them; other users' streams go on.
func TestDeletedUsersStreamsEnd(t *testing.T) {
	blocked := func(ctx context.Context) (*pgx.Conn, error) { <-ctx.Done(); return nil, ctx.Err() }
	load := func(_ context.Context, cs []Change) (map[Key][]Message, error) {
		out := map[Key][]Message{}
		for _, c := range cs {
			out[c.Key] = append(out[c.Key], Message{Event: "n", ID: c.ID.String()})
		}
		return out, nil
	}
	h := New(blocked, load, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer h.Close()
	tenant := uuid.New()
	gone, other := Key{Tenant: tenant, User: "gone"}, Key{Tenant: tenant, User: "other"}
	a, b, c := h.Subscribe(gone), h.Subscribe(gone), h.Subscribe(other)
	if a.Reason() != EndUnsubscribed {
		t.Fatalf("an open stream's reason: %v", a.Reason())
	}
	h.Publish(Change{Key: gone, Deleted: true}, Change{Key: gone, New: true, ID: uuid.New()}, Change{Key: other, New: true, ID: uuid.New()})
	for _, s := range []*Sub{a, b} {
		select {
		case <-s.Done():
		default:
			t.Fatal("a deleted user's stream is open")
		}
		if s.Reason() != EndUserDeleted {
			t.Errorf("reason %v, want EndUserDeleted", s.Reason())
		}
	}
	select {
	case <-c.Messages():
	case <-time.After(5 * time.Second):
		t.Fatal("another user's stream got nothing")
	}
	time.Sleep(50 * time.Millisecond) // let the batch be delivered, if it were
	for _, s := range []*Sub{a, b} {
		select {
		case m := <-s.Messages():
			t.Errorf("a deleted user's stream got %+v", m)
		default:
		}
	}
	select {
	case <-c.Done():
		t.Fatal("another user's stream ended")
	default:
	}
	h.Close()
	if c.Reason() != EndShutdown {
		t.Errorf("reason at shutdown: %v", c.Reason())
	}
}
