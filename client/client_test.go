package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fast retries, so the tests measure Retry-After and not the backoff.
var fast = WithRetry(RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})

func newTest(t *testing.T, h http.HandlerFunc, opts ...Option) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "hk_test", append([]Option{fast}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"error":{"code":"`+code+`","message":"m","details":{"field":"type","limit":65536}}}`)
}

const accepted = `{"event_id":"e1","workflow_id":"notify/x","run_id":"r","duplicate":false}`

func TestRetryAfterIsWaitedOut(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	var mu sync.Mutex
	var first, second time.Time
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if hits.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			writeError(w, http.StatusTooManyRequests, "rate_limited")
			return
		}
		second = time.Now()
		_, _ = io.WriteString(w, `{"id":"ada","email":"ada@example.com"}`)
	})
	u, err := c.GetUser(context.Background(), "ada")
	if err != nil || u.Email != "ada@example.com" {
		t.Fatalf("GetUser = %+v, %v", u, err)
	}
	if hits.Load() != 2 {
		t.Fatalf("%d requests, want 2", hits.Load())
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := second.Sub(first); gap < time.Second {
		t.Errorf("retried after %v; Retry-After said 1 s", gap)
	}
}

func TestIdempotencyKeyIsReusedAcrossRetries(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var keys []string
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		switch n {
		case 1:
			writeError(w, http.StatusServiceUnavailable, "unavailable")
		case 2:
			writeError(w, http.StatusTooManyRequests, "rate_limited")
		default:
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, accepted)
		}
	})
	sent := func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), keys...) }
	acc, err := c.PostEvent(context.Background(), EventRequest{Type: "issue.assigned"})
	if err != nil || acc.EventID != "e1" {
		t.Fatalf("PostEvent = %+v, %v", acc, err)
	}
	if ks := sent(); len(ks) != 3 || ks[0] == "" || ks[1] != ks[0] || ks[2] != ks[0] {
		t.Fatalf("keys across retries = %q, want one non-empty key three times", ks)
	}
	if _, err := c.PostEvent(context.Background(), EventRequest{Type: "issue.assigned"}); err != nil {
		t.Fatal(err)
	}
	if ks := sent(); ks[3] == ks[0] {
		t.Errorf("a second post reused the first post's random key %q", ks[0])
	}
	if _, err := c.PostEvent(context.Background(), EventRequest{Type: "issue.assigned", IdempotencyKey: "evt-42"}); err != nil {
		t.Fatal(err)
	}
	if ks := sent(); ks[4] != "evt-42" {
		t.Errorf("key sent = %q, want the caller's evt-42", ks[4])
	}
}

// A 503 may come after the work was half done: only a route that is safe to
// repeat is tried again.
func TestUnavailableIsRetriedOnlyWhereSafe(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		writeError(w, http.StatusServiceUnavailable, "unavailable")
	})
	ctx := context.Background()
	_, err := c.TestNotification(ctx, "ada")
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || hits.Load() != 1 {
		t.Fatalf("test notification: %v after %d requests, want a 503 after 1", err, hits.Load())
	}
	hits.Store(0)
	if _, err := c.GetEvent(ctx, "e1"); ErrorCode(err) != "unavailable" || hits.Load() != 4 {
		t.Fatalf("get event: %v after %d requests, want unavailable after 4 (MaxAttempts)", err, hits.Load())
	}
	hits.Store(0)
	if _, err := c.Ready(ctx); ErrorCode(err) != "unavailable" || hits.Load() != 1 {
		t.Fatalf("readiness: %v after %d requests, want its answer as it is", err, hits.Load())
	}
	hits.Store(0)
	_, err = c.AddSuppression(ctx, SuppressionInput{Address: "ada@example.com"})
	if ErrorCode(err) != "unavailable" || hits.Load() != 4 {
		t.Fatalf("add suppression: %v after %d requests, want unavailable after 4 (safe to repeat)", err, hits.Load())
	}
	hits.Store(0)
	if err := c.DeleteSuppression(ctx, "ada@example.com"); ErrorCode(err) != "unavailable" || hits.Load() != 1 {
		t.Fatalf("delete suppression: %v after %d requests, want a 503 after 1", err, hits.Load())
	}
}

// A connection that breaks after the request went out leaves its outcome
// unknown: the event (keyed) is posted again, a test notification is not.
func TestUnknownOutcome(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string][]string{}
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = append(seen[r.URL.Path], r.Header.Get("Idempotency-Key"))
		n := len(seen[r.URL.Path])
		mu.Unlock()
		if n == 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, accepted)
	})
	sent := func(path string) []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen[path]...) }
	ctx := context.Background()
	if _, err := c.PostEvent(ctx, EventRequest{Type: "issue.assigned"}); err != nil {
		t.Fatalf("PostEvent: %v", err)
	}
	if k := sent("/v1/events"); len(k) != 2 || k[0] != k[1] {
		t.Errorf("event posted with keys %q, want twice with one key", k)
	}
	_, err := c.TestNotification(ctx, "")
	if !errors.Is(err, ErrUnknownOutcome) {
		t.Errorf("test notification: %v, want ErrUnknownOutcome", err)
	}
	if n := len(sent("/v1/test-notification")); n != 1 {
		t.Errorf("test notification sent %d times, want once", n)
	}
	if _, err := c.AddSuppression(ctx, SuppressionInput{Address: "ada@example.com"}); err != nil {
		t.Errorf("AddSuppression: %v", err)
	}
	if n := len(sent("/v1/suppressions")); n != 2 {
		t.Errorf("suppression posted %d times, want twice", n)
	}
	if err := c.DeleteSuppression(ctx, "ada@example.com"); !errors.Is(err, ErrUnknownOutcome) {
		t.Errorf("delete suppression: %v, want ErrUnknownOutcome", err)
	}
	if n := len(sent("/v1/suppressions/ada@example.com")); n != 1 {
		t.Errorf("suppression deleted %d times, want once", n)
	}
}

// A connection that fails before anything is sent is tried again on every
// route.
func TestConnectionFailureBeforeSendingIsRetried(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	var dials atomic.Int32
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if dials.Add(1) == 1 {
			return nil, errors.New("connection refused (test)")
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, `{"event_id":"e1","user_id":"ada","channels":[]}`)
	}, WithHTTPClient(&http.Client{Transport: tr}))
	res, err := c.TestNotification(context.Background(), "ada")
	if err != nil || res.UserID != "ada" {
		t.Fatalf("TestNotification = %+v, %v", res, err)
	}
	if dials.Load() != 2 || hits.Load() != 1 {
		t.Errorf("%d dials, %d requests; want 2 and 1", dials.Load(), hits.Load())
	}
}

func TestErrorsAreDecoded(t *testing.T) {
	t.Parallel()
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/v1/events") {
			writeError(w, http.StatusUnprocessableEntity, "unknown_event_type")
			return
		}
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>bad gateway</html>")
	})
	_, err := c.PostEvent(context.Background(), EventRequest{Type: "nope"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not *Error", err)
	}
	if e.StatusCode != 422 || e.Code != "unknown_event_type" || e.Message != "m" || e.Details["field"] != "type" {
		t.Errorf("error = %+v", e)
	}
	if limit, _ := e.Details["limit"].(interface{ String() string }); limit == nil || limit.String() != "65536" {
		t.Errorf("details limit = %#v, want the exact number", e.Details["limit"])
	}
	_, err = c.GetUser(context.Background(), "ada")
	if !errors.As(err, &e) || e.StatusCode != 502 || e.Code != "" || !strings.Contains(e.Message, "bad gateway") {
		t.Errorf("non-JSON error = %+v", err)
	}
}

func TestContextDeadlines(t *testing.T) {
	t.Parallel()
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/users/slow" {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Retry-After", "30")
		writeError(w, http.StatusTooManyRequests, "rate_limited")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.GetUser(ctx, "limited")
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 429 || e.RetryAfter != 30*time.Second {
		t.Fatalf("err = %v, want the 429 with its Retry-After", err)
	}
	if d := time.Since(start); d > 150*time.Millisecond {
		t.Errorf("took %v: a Retry-After past the deadline should not be waited for", d)
	}
	_, err = c.GetUser(ctx, "slow")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a 200 ms deadline took %v", d)
	}
}

func TestPathArgumentsAreEscaped(t *testing.T) {
	t.Parallel()
	var got atomic.Value
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.URL.EscapedPath())
		_, _ = io.WriteString(w, `{}`)
	})
	if _, err := c.GetUser(context.Background(), "a b/c"); err != nil {
		t.Fatal(err)
	}
	if p := got.Load(); p != "/v1/users/a%20b%2Fc" {
		t.Errorf("path = %q", p)
	}
	if _, err := c.GetUser(context.Background(), ""); err == nil {
		t.Error("an empty user ID was sent")
	}
}

func TestStreamMessages(t *testing.T) {
	t.Parallel()
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Last-Event-ID") != "c0" || r.URL.Query().Get("token") != "it" {
			writeError(w, 400, "invalid_request")
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, ": heartbeat\n\nevent: count\ndata: {\"count\":1,\"unseen\":1}\n\n"+
			"id: c1\nevent: notification\ndata: {\"id\":\"n1\",\"title\":\"Hi\"}\n\n")
	})
	s, err := c.StreamNotifications(context.Background(), "ada", StreamOptions{Token: "it", LastEventID: "c0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	m, err := s.Next()
	if err != nil || m.Event != "count" || string(m.Data) != `{"count":1,"unseen":1}` {
		t.Fatalf("first = %+v, %v", m, err)
	}
	m, err = s.Next()
	if err != nil || m.ID != "c1" {
		t.Fatalf("second = %+v, %v", m, err)
	}
	if n, err := m.Notification(); err != nil || n.Title != "Hi" {
		t.Errorf("notification = %+v, %v", n, err)
	}
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last message: %v, want io.EOF", err)
	}
}

func TestRetryAfterForms(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "3": 3 * time.Second, "-1": 0, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", v, got, want)
		}
	}
}

// A fake suppression list: the client pages it, adds an address twice (the
// second answer is the first entry, 200) and takes it off (204, then 404).
func TestSuppressions(t *testing.T) {
	t.Parallel()
	const entry = `{"address":"ada+x@example.com","reason":"complaint","created_at":"2026-01-02T03:04:05Z"}`
	var mu sync.Mutex
	listed := map[string]bool{}
	var requests, bodies []string
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		requests = append(requests, r.Method+" "+r.URL.EscapedPath())
		bodies = append(bodies, string(body))
		if r.Header.Get("Authorization") != "Bearer hk_test" {
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		addr, one := strings.CutPrefix(r.URL.Path, "/v1/suppressions/")
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1/suppressions":
			if q := r.URL.Query(); q.Get("limit") != "1" || q.Get("cursor") != "c1" {
				writeError(w, http.StatusBadRequest, "invalid_request")
				return
			}
			_, _ = io.WriteString(w, `{"data":[{"address":"bob@example.com","reason":"bounce","detail":"SMTP 550 5.1.1",`+
				`"delivery_id":"0190f5a4-0000-7000-8000-000000000001","created_at":"2026-01-02T03:04:05Z"}],"next_cursor":"c2"}`)
		case r.Method == "POST" && r.URL.Path == "/v1/suppressions":
			var in SuppressionInput
			if err := json.Unmarshal(body, &in); err != nil || in.Address != "ada+x@example.com" {
				writeError(w, http.StatusBadRequest, "invalid_field")
				return
			}
			if listed[in.Address] {
				w.WriteHeader(http.StatusOK)
			} else {
				listed[in.Address] = true
				w.WriteHeader(http.StatusCreated)
			}
			_, _ = io.WriteString(w, entry)
		case r.Method == "DELETE" && one:
			if !listed[addr] {
				writeError(w, http.StatusNotFound, "not_found")
				return
			}
			delete(listed, addr)
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusNotFound, "not_found")
		}
	})
	ctx := context.Background()
	page, err := c.ListSuppressions(ctx, PageOptions{Limit: 1, Cursor: "c1"})
	if err != nil || len(page.Data) != 1 || page.NextCursor != "c2" {
		t.Fatalf("ListSuppressions = %+v, %v", page, err)
	}
	if s := page.Data[0]; s.Address != "bob@example.com" || s.Reason != "bounce" || s.Detail != "SMTP 550 5.1.1" ||
		s.DeliveryID != "0190f5a4-0000-7000-8000-000000000001" || !s.CreatedAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("suppression = %+v", s)
	}
	for i := range 2 {
		s, err := c.AddSuppression(ctx, SuppressionInput{Address: "ada+x@example.com"})
		if err != nil || s.Address != "ada+x@example.com" || s.Reason != "complaint" || s.DeliveryID != "" {
			t.Fatalf("AddSuppression #%d = %+v, %v", i+1, s, err)
		}
	}
	if err := c.DeleteSuppression(ctx, "ada+x@example.com"); err != nil {
		t.Fatalf("DeleteSuppression: %v", err)
	}
	if err := c.DeleteSuppression(ctx, "ada+x@example.com"); ErrorCode(err) != "not_found" {
		t.Errorf("deleting it again: %v, want not_found", err)
	}
	if err := c.DeleteSuppression(ctx, ""); err == nil {
		t.Error("an empty address was sent")
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"GET /v1/suppressions", "POST /v1/suppressions", "POST /v1/suppressions",
		"DELETE /v1/suppressions/ada+x@example.com", "DELETE /v1/suppressions/ada+x@example.com"}
	if !slices.Equal(requests, want) {
		t.Errorf("requests = %q, want %q", requests, want)
	}
	if len(bodies) > 1 && bodies[1] != `{"address":"ada+x@example.com"}` {
		t.Errorf("posted %s; want the address alone (the reason defaults to complaint)", bodies[1])
	}
}

func TestListChannels(t *testing.T) {
	t.Parallel()
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.URL.Path != "/v1/channels" || r.Header.Get("Authorization") != "Bearer hk_test" {
			writeError(w, http.StatusNotFound, "not_found")
			return
		}
		_, _ = io.WriteString(w, `{"data":[{"key":"email","title":"Email","available":true,"status":"available"},`+
			`{"key":"push","title":"Push","available":false,"status":"coming_soon"}]}`)
	})
	list, err := c.ListChannels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []ChannelInfo{{Key: ChannelEmail, Title: "Email", Available: true, Status: "available"},
		{Key: ChannelPush, Title: "Push", Status: "coming_soon"}}
	if !slices.Equal(list.Data, want) {
		t.Errorf("channels = %+v, want %+v", list.Data, want)
	}
}

// A category's settings are one JSON object whose frequency is a string or
// an object per channel: each form comes back as it went in.
func TestCategorySettingsRoundTrip(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]CategorySettings{
		`{}`:              {},
		`{"email":false}`: {Channels: map[Channel]bool{ChannelEmail: false}},
		`{"email":true,"frequency":"daily","in_app":false}`: {
			Channels:  map[Channel]bool{ChannelEmail: true, ChannelInApp: false},
			Frequency: CategoryFrequency{All: FrequencyDaily}},
		`{"frequency":{"email":"weekly"}}`: {
			Frequency: CategoryFrequency{ByChannel: map[Channel]Frequency{ChannelEmail: FrequencyWeekly}}},
		`{"frequency":{"email":"hourly","slack":"immediate"},"slack":true}`: {
			Channels: map[Channel]bool{ChannelSlack: true},
			Frequency: CategoryFrequency{ByChannel: map[Channel]Frequency{
				ChannelEmail: FrequencyHourly, ChannelSlack: FrequencyImmediate}}},
		`{"frequency":{}}`: {Frequency: CategoryFrequency{ByChannel: map[Channel]Frequency{}}},
	} {
		var got CategorySettings
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s read as %+v, want %+v", in, got, want)
		}
		out, err := json.Marshal(got)
		if err != nil || string(out) != in {
			t.Errorf("%s written back as %s, %v", in, out, err)
		}
	}

	// null and a frequency left out both set nothing.
	var got CategorySettings
	if err := json.Unmarshal([]byte(`{"email":true,"frequency":null}`), &got); err != nil || !got.Frequency.IsZero() {
		t.Errorf("null frequency read as %+v, %v", got, err)
	}
	if out, _ := json.Marshal(got); string(out) != `{"email":true}` {
		t.Errorf("written back as %s, want no frequency", out)
	}

	// Inside a document: the answer's categories, the effective ones too.
	var p Preferences
	doc := `{"categories":{"outreach":{"email":false},"projects":{"email":true,"frequency":"daily"}},` +
		`"effective":{"categories":{"projects":{"email":true,"frequency":{"email":"daily","slack":"immediate"}}}}}`
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		t.Fatal(err)
	}
	own, eff := p.Categories["projects"].Frequency, p.Effective.Categories["projects"].Frequency
	if own.On(ChannelSlack) != FrequencyDaily || p.Categories["outreach"].Channels[ChannelEmail] ||
		eff.On(ChannelEmail) != FrequencyDaily || eff.On(ChannelSlack) != FrequencyImmediate || eff.On(ChannelInApp) != "" {
		t.Errorf("preferences read as %+v", p)
	}
	if out, err := json.Marshal(p); err != nil || string(out) != doc {
		t.Errorf("written back as %s, %v", out, err)
	}

	for _, bad := range []string{`[]`, `{"email":"yes"}`, `{"email":null}`, `{"frequency":3}`, `{"frequency":["daily"]}`,
		`{"frequency":{"email":true}}`} {
		if err := json.Unmarshal([]byte(bad), &got); err == nil {
			t.Errorf("%s read as %+v, want an error", bad, got)
		}
	}
	both := CategorySettings{Frequency: CategoryFrequency{All: FrequencyDaily,
		ByChannel: map[Channel]Frequency{ChannelEmail: FrequencyWeekly}}}
	if out, err := json.Marshal(both); err == nil {
		t.Errorf("both forms written as %s, want an error", out)
	}
	if out, err := json.Marshal(CategorySettings{Channels: map[Channel]bool{"frequency": true}}); err == nil {
		t.Errorf("a channel named frequency written as %s, want an error", out)
	}
}

// A version read back and restored is PUT with every field it did not set
// as null, so the type is what it was, not the current one with some
// fields changed.
func TestRestoreEventTypeVersionResetsWhatItDidNotSet(t *testing.T) {
	t.Parallel()
	var sent map[string]json.RawMessage
	c := newTest(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/v1/event-types/deploy.done/versions":
			_, _ = io.WriteString(w, `{"data":[{"version":1,"created_at":"2026-01-03T15:30:00Z","definition":{"category":"deploys",`+
				`"title":"Deployed","urgent":null,"default_recipients":null,"channels":null,"templates":{"text":"done"},"required_data":null}}],"next_cursor":null}`)
		case r.Method == "PUT" && r.URL.Path == "/v1/event-types/deploy.done":
			body, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(body, &sent)
			_, _ = io.WriteString(w, `{"key":"deploy.done"}`)
		default:
			writeError(w, http.StatusNotFound, "not_found")
		}
	})
	ctx := context.Background()
	page, err := c.ListEventTypeVersions(ctx, "deploy.done", PageOptions{})
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("versions: %+v %v", page, err)
	}
	if _, err := c.RestoreEventTypeVersion(ctx, "deploy.done", page.Data[0]); err != nil {
		t.Fatal(err)
	}
	for field, want := range map[string]string{"category": `"deploys"`, "title": `"Deployed"`, "urgent": "null",
		"default_recipients": "null", "channels": "null", "templates": `{"text":"done"}`, "required_data": "null"} {
		if got := string(sent[field]); got != want {
			t.Errorf("PUT sent %s: %s, want %s", field, got, want)
		}
	}
}
