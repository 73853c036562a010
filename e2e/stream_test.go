package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/app"
)

// sseEvent is one Server-Sent Event as a browser's EventSource sees it.
type sseEvent struct {
	id, event, data string
}

// sseStream is an open stream read the way EventSource reads it.
type sseStream struct {
	t      *testing.T
	events chan sseEvent
	cancel context.CancelFunc
	ended  chan struct{}
}

// openStream opens the user's stream with their inbox token in the query,
// as EventSource must (it sends no headers but Last-Event-ID).
func openStream(t *testing.T, base, user, token, lastEventID string) *sseStream {
	t.Helper()
	var headers []string
	if lastEventID != "" {
		headers = append(headers, "Last-Event-ID", lastEventID)
	}
	return startStream(t, base+"/v1/users/"+user+"/notifications/stream?token="+token, headers...)
}

// openKeyStream opens the user's stream with the tenant's API key, as a
// server-side client would.
func openKeyStream(t *testing.T, base, user, key string) *sseStream {
	t.Helper()
	return startStream(t, base+"/v1/users/"+user+"/notifications/stream", "Authorization", "Bearer "+key)
}

func startStream(t *testing.T, url string, headers ...string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream answered %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sseStream{t: t, events: make(chan sseEvent, 1024), cancel: cancel, ended: make(chan struct{})}
	go func() {
		defer close(s.ended)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.event != "" || ev.data != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "id: "):
				ev.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				ev.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				ev.data = line[6:]
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() { s.cancel(); <-s.ended }

// next waits for the next event named name, skipping others.
func (s *sseStream) next(name string, within time.Duration) sseEvent {
	s.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev := <-s.events:
			if ev.event == name {
				return ev
			}
		case <-s.ended:
			s.t.Fatalf("the stream ended waiting for %s", name)
		case <-deadline:
			s.t.Fatalf("no %s event within %v", name, within)
		}
	}
}

// count waits for a count event with the given unread count.
func (s *sseStream) count(unread int, within time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		ev := s.next("count", time.Until(deadline))
		var c countView
		if err := json.Unmarshal([]byte(ev.data), &c); err != nil {
			s.t.Fatal(err)
		}
		if c.Count == unread {
			return
		}
	}
}

func (tn *tenant) inboxToken(user string) string {
	tn.t.Helper()
	return decodeAs[struct {
		Token string `json:"token"`
	}](tn.t, tn.must(201, tn.do("POST", "/v1/users/"+user+"/inbox-token", nil))).Token
}

// TestStreamDeliversChangesLive: a new item, reads, snoozes and their
// return reach an open stream within a second, with the badge counts.
func TestStreamDeliversChangesLive(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("live", "live@example.com")
	st := openStream(t, tn.base, "live", tn.inboxToken("live"), "")
	st.count(0, 5*time.Second)

	acc := tn.assign("live", "LIVE-1")
	ev := st.next("notification", 10*time.Second)
	var item inboxItem
	if err := json.Unmarshal([]byte(ev.data), &item); err != nil {
		t.Fatal(err)
	}
	if item.Title != "LIVE-1 was assigned to you" || item.EventID != acc.EventID || ev.id == "" {
		t.Fatalf("streamed item %+v (id %q)", item, ev.id)
	}
	st.count(1, time.Second)

	// Changes of state arrive within a second of the request.
	tn.must(200, tn.do("PATCH", "/v1/users/live/notifications/"+item.ID+"/read", nil))
	st.next("state", time.Second)
	st.count(0, time.Second)
	until := time.Now().Add(2 * time.Second).UTC()
	tn.must(200, tn.do("POST", "/v1/users/live/notifications/"+item.ID+"/snooze", map[string]any{"until": until}))
	st.next("state", time.Second)
	// Back from snooze at its time, unread, pushed without a request.
	back := st.next("notification", 5*time.Second)
	if !strings.Contains(back.data, item.ID) || time.Now().Before(until) {
		t.Fatalf("snoozed item back early or wrong: %s", back.data)
	}
	st.count(1, 2*time.Second)
}

// TestStreamAcrossProcessesAndResume: a change made through one API process
// reaches a stream on another (LISTEN/NOTIFY, not process memory), and a
// stream reopened with Last-Event-ID gets what came while it was closed.
func TestStreamAcrossProcessesAndResume(t *testing.T) {
	t.Parallel()
	second := secondAPI(t)

	tn := newTenant(t) // posts through the first process
	tn.putUser("far", "far@example.com")
	token := tn.inboxToken("far")
	st := openStream(t, second, "far", token, "")
	st.count(0, 5*time.Second)
	tn.assign("far", "FAR-1")
	first := st.next("notification", 10*time.Second)
	st.close()

	tn.waitEvent(tn.assign("far", "FAR-2").EventID)
	tn.waitEvent(tn.assign("far", "FAR-3").EventID)
	again := openStream(t, second, "far", token, first.id)
	var titles []string
	for len(titles) < 2 {
		var item inboxItem
		if err := json.Unmarshal([]byte(again.next("notification", 5*time.Second).data), &item); err != nil {
			t.Fatal(err)
		}
		titles = append(titles, item.Title)
	}
	if titles[0] != "FAR-2 was assigned to you" || titles[1] != "FAR-3 was assigned to you" {
		t.Fatalf("resumed stream replayed %v", titles)
	}
	again.count(3, 2*time.Second)
	select {
	case ev := <-again.events:
		if ev.event == "notification" {
			t.Fatalf("replayed an item the stream had: %s", ev.data)
		}
	case <-time.After(300 * time.Millisecond):
	}
}

// TestResumedStreamCatchesUpAboveItsResumePoint: a stream resumed with
// Last-Event-ID whose process then loses its listening connection catches
// up without sending again the items the client had before it resumed.
func TestResumedStreamCatchesUpAboveItsResumePoint(t *testing.T) {
	t.Parallel()
	srv := secondAPI(t)
	tn := newTenant(t)
	tn.putUser("floor", "floor@example.com")
	token := tn.inboxToken("floor")
	st := openStream(t, srv, "floor", token, "")
	st.count(0, 5*time.Second)
	tn.assign("floor", "FLOOR-1")
	st.next("notification", 10*time.Second)
	tn.assign("floor", "FLOOR-2")
	had := st.next("notification", 10*time.Second)
	st.close()

	again := openStream(t, srv, "floor", token, had.id)
	again.count(2, 5*time.Second)
	dropListeners(t)
	tn.assign("floor", "FLOOR-3")
	var item inboxItem
	if err := json.Unmarshal([]byte(again.next("notification", 15*time.Second).data), &item); err != nil {
		t.Fatal(err)
	}
	if item.Title != "FLOOR-3 was assigned to you" {
		t.Fatalf("after the lost connection the resumed stream sent %q first", item.Title)
	}
	select {
	case ev := <-again.events:
		if ev.event == "notification" {
			t.Fatalf("sent again an item the client had: %s", ev.data)
		}
	case <-time.After(time.Second):
	}
}

// TestStreamSurvivesALostListenConnection: when the database drops the
// process's listening connection, it reconnects and open streams catch up.
func TestStreamSurvivesALostListenConnection(t *testing.T) {
	t.Parallel()
	srv := secondAPI(t)
	tn := newTenant(t)
	tn.putUser("cut", "cut@example.com")
	st := openStream(t, srv, "cut", tn.inboxToken("cut"), "")
	st.count(0, 5*time.Second)
	dropListeners(t)
	tn.assign("cut", "CUT-1")
	var item inboxItem
	if err := json.Unmarshal([]byte(st.next("notification", 15*time.Second).data), &item); err != nil {
		t.Fatal(err)
	}
	if item.Title != "CUT-1 was assigned to you" {
		t.Fatalf("after the reconnect: %+v", item)
	}
}

// TestStreamsFreeTheirServerSide: 500 streams opened and closed leave no
// goroutine behind, and shutting the server down ends open streams at once.
func TestStreamsFreeTheirServerSide(t *testing.T) {
	// Not parallel: it counts the process's goroutines.
	handler, err := app.NewHandler(env.cfg, env.pool, env.temporal, logger)
	if err != nil {
		t.Fatal(err)
	}
	tn := newTenant(t)
	tn.putUser("many", "many@example.com")
	token := tn.inboxToken("many")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- app.Serve(ctx, addr, handler, nil) }()
	base := "http://" + addr
	waitFor(t, 5*time.Second, "the server", func() bool {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	})
	http.DefaultClient.CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	var wg sync.WaitGroup
	streams := make([]*sseStream, 500)
	for i := range streams {
		wg.Add(1)
		go func() { defer wg.Done(); streams[i] = openStream(t, base, "many", token, "") }()
	}
	wg.Wait()
	for _, s := range streams {
		s.count(0, 10*time.Second)
	}
	for _, s := range streams {
		s.close()
	}
	http.DefaultClient.CloseIdleConnections()
	// The hub's listener stays (one per process), and so may a few idle
	// connection goroutines.
	waitFor(t, 10*time.Second, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseline+10
	})

	open := openStream(t, base, "many", token, "")
	open.count(0, 5*time.Second)
	began := time.Now()
	stop()
	select {
	case err := <-served:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not shut down with a stream open")
	}
	select {
	case <-open.ended:
	case <-time.After(time.Second):
		t.Fatal("the open stream did not end with the server")
	}
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("shutdown took %v with a stream open", d)
	}
}

// secondAPI serves Herald's API from another process's handler, with its
// own inbox feed (its own listening connection), and answers its URL.
func secondAPI(t *testing.T) string {
	t.Helper()
	handler, err := app.NewHandler(env.cfg, env.pool, env.temporal, logger)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() { app.CloseStreams(handler); srv.Close() })
	return srv.URL
}

// dropListeners has the database terminate every process's listening
// connection for inbox changes, once at least one is open.
func dropListeners(t *testing.T) {
	t.Helper()
	waitFor(t, 10*time.Second, "the listening connection", func() bool {
		return count(t, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = 'LISTEN herald_inbox'`) > 0
	})
}
