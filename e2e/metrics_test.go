package e2e

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metric returns the value of the first sample of name whose labels include
// every one of labels (the registry is the whole test process's).
func metric(t *testing.T, body, name string, labels ...string) float64 {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(?:\{([^}]*)\})? (\S+)$`)
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(m[1], l)
		}
		if ok {
			v, _ := strconv.ParseFloat(m[2], 64)
			return v
		}
	}
	return 0
}

func scrape(t *testing.T) string {
	t.Helper()
	res, err := http.Get(env.api.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	return string(b)
}

func TestMetricsCountWhatHappened(t *testing.T) {
	t.Parallel()
	before := scrape(t)
	tn := newTenant(t)
	hook := newHookServer(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	tn.putUser("m1", "m1@example.com")
	tn.putUser("m2", "")
	acc := tn.postEvent(map[string]any{"type": "issue.commented", "recipients": map[string]any{"users": []string{"m1", "m2"}}, "data": map[string]any{"issue_key": "MT-1"}})
	tn.waitSettled(acc.EventID, 30*time.Second)
	tn.do("GET", "/v1/events/"+acc.EventID, nil)
	after := scrape(t)
	grew := func(name string, labels ...string) {
		t.Helper()
		if b, a := metric(t, before, name, labels...), metric(t, after, name, labels...); a <= b {
			t.Errorf("%s%v stayed at %v (was %v)", name, labels, a, b)
		}
	}
	grew("herald_events_accepted_total", `type="issue.commented"`)
	grew("herald_deliveries_total", `channel="email"`, `outcome="delivered"`)
	grew("herald_deliveries_total", `channel="in_app"`, `outcome="delivered"`)
	grew("herald_deliveries_total", `channel="email"`, `outcome="skipped"`, `reason="no_address"`)
	grew("herald_deliveries_total", `channel="webhook"`, `outcome="delivered"`)
	grew("herald_delivery_latency_seconds_count", `channel="email"`)
	grew("herald_outbound_call_duration_seconds_count", `kind="webhook"`, `result="ok"`)
	grew("herald_http_requests_total", `route="/v1/events"`, `method="POST"`, `status="202"`)
	grew("herald_http_requests_total", `route="/v1/events/:id"`, `method="GET"`, `status="200"`)
	// The Temporal SDK's series share the registry. Its counters and
	// histograms reach the registry on tally's one-second flush, so they are
	// awaited rather than read from the first scrape.
	queue := `task_queue="` + env.cfg.TaskQueue + `"`
	sdk := [][]string{
		{"temporal_workflow_task_execution_latency_seconds_count", `workflow_type="NotifyEvent"`, queue},
		{"temporal_request_total", `operation="StartWorkflowExecution"`, `workflow_type="NotifyEvent"`, queue},
	}
	for deadline := time.Now().Add(10 * time.Second); ; after = scrape(t) {
		pending := 0
		for _, s := range sdk {
			if metric(t, after, s[0], s[1:]...) <= metric(t, before, s[0], s[1:]...) {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range sdk {
		grew(s[0], s[1:]...)
	}
	if v := metric(t, after, "herald_temporal_metrics_dropped_total"); v != 0 {
		t.Errorf("herald_temporal_metrics_dropped_total is %v", v)
	}
	if strings.Contains(after, acc.EventID) || strings.Contains(after, tn.id.String()) || strings.Contains(after, `"m1"`) {
		t.Error("an event, tenant or user ID is a label value")
	}
}
