package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The OpenAPI document the server serves is the repository's
// api/openapi.json (embedded in the server); these tests hold the client to
// it, so a route or a field added to one and not the other fails here.

type document struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas map[string]*schema `json:"schemas"`
	} `json:"components"`
}

type schema struct {
	Ref        string             `json:"$ref"`
	Properties map[string]*schema `json:"properties"`
	Items      *schema            `json:"items"`
	AllOf      []*schema          `json:"allOf"`
	Enum       []string           `json:"enum"`
}

type operation struct {
	RequestBody *struct {
		Content map[string]struct {
			Schema *schema `json:"schema"`
		} `json:"content"`
	} `json:"requestBody"`
}

func loadDocument(t *testing.T) *document {
	t.Helper()
	raw, err := os.ReadFile("../api/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var d document
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return &d
}

var methods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

func (d *document) routes() []string {
	var out []string
	for p, ops := range d.Paths {
		for m := range ops {
			if slices.Contains(methods, m) {
				out = append(out, strings.ToUpper(m)+" "+p)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (d *document) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = d.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
	}
	return s
}

// properties are a schema's property names, allOf's included.
func (d *document) properties(s *schema) []string {
	s = d.resolve(s)
	if s == nil {
		return nil
	}
	var out []string
	for name := range s.Properties {
		out = append(out, name)
	}
	for _, part := range s.AllOf {
		out = append(out, d.properties(part)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// lookup finds a schema by a path of names: a component schema, then
// properties (and items of arrays) by name.
func (d *document) lookup(path string) *schema {
	parts := strings.Split(path, ".")
	s := d.Components.Schemas[parts[0]]
	for _, p := range parts[1:] {
		s = d.resolve(s)
		if s == nil {
			return nil
		}
		if s.Items != nil {
			s = d.resolve(s.Items)
		}
		s = s.Properties[p]
	}
	if s = d.resolve(s); s != nil && s.Items != nil {
		s = d.resolve(s.Items)
	}
	return s
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func TestRoutesAreTheDocumentsRoutes(t *testing.T) {
	d := loadDocument(t)
	var client []string
	for _, r := range Routes() {
		client = append(client, r.Method+" "+r.Path)
	}
	slices.Sort(client)
	doc := d.routes()
	for _, r := range doc {
		if !slices.Contains(client, r) {
			t.Errorf("the document has %s; the client has no method for it", r)
		}
	}
	for _, r := range client {
		if !slices.Contains(doc, r) {
			t.Errorf("the client implements %s; the document has no such route", r)
		}
	}
	if dup := len(client) - len(slices.Compact(slices.Clone(client))); dup != 0 {
		t.Errorf("%d routes are listed twice", dup)
	}
}

// TestTypesAreTheDocumentsSchemas holds every type to its schema: the same
// JSON field names, no more, no fewer.
func TestTypesAreTheDocumentsSchemas(t *testing.T) {
	d := loadDocument(t)
	types := map[string]any{
		"Health": Health{}, "Readiness": Readiness{}, "ReadinessChecks": ReadinessChecks{},
		"UserInput": UserInput{}, "User": User{}, "Recipients": Recipients{}, "EventRequest": EventRequest{},
		"EventAccepted": EventAccepted{}, "Event": Event{}, "Delivery": Delivery{}, "Notification": Notification{},
		"EventType": EventType{}, "Templates": Templates{}, "TemplateVariant": TemplateVariant{}, "EventTypeList": EventTypeList{},
		"DeliveryPage": DeliveryPage{}, "NotificationPage": NotificationPage{}, "UnreadCount": UnreadCount{},
		"MarkedCount": MarkedCount{}, "ChannelSettings": ChannelSettings{}, "QuietHours": QuietHours{},
		"PreferenceDocument": PreferenceDocument{}, "RequiredNotifications": RequiredNotifications{},
		"EffectivePreferences": EffectivePreferences{}, "Preferences": Preferences{},
		"TenantSettings": TenantSettings{}, "TenantSettings.summaries": Summaries{},
		// The PUT bodies: the same fields as what GET answers, each also
		// null (the client's reset argument sends null).
		"TenantSettingsInput": TenantSettings{}, "TenantSettingsInput.summaries": Summaries{},
		"Branding": Branding{}, "BrandingInput": BrandingInput{},
		"PreferenceDocumentInput": PreferenceDocument{},
		"SummarySetting":          SummarySetting{}, "SlackRoute": SlackRoute{},
		"SlackIntegrationInput": SlackIntegrationInput{}, "SlackIntegration": SlackIntegration{},
		"WebhookIntegrationInput": WebhookIntegrationInput{}, "WebhookIntegration": WebhookIntegration{},
		"TestNotificationInput": TestNotificationInput{}, "TestNotificationResult": TestNotificationResult{},
		"TestNotificationResult.channels": TestNotificationChannel{}, "RetryAccepted": RetryAccepted{},
		"BulkRetryInput": BulkRetryInput{}, "BulkRetryAccepted": BulkRetryAccepted{}, "CancelResult": CancelResult{},
		"AuditVerify": AuditVerify{}, "AuditVerify.broken": AuditBroken{}, "AuditRow": AuditRow{},
		"AuditPage": AuditPage{}, "NotificationState": NotificationState{}, "Snooze": Snooze{},
		"RuleOutcome": RuleOutcome{}, "Rule": Rule{}, "EventTypeInput": EventTypeInput{},
		"EventTypeInput.templates": EventTypeTemplates{}, "BatchEvent": BatchEvent{}, "BatchInput": BatchInput{},
		"Batch": Batch{}, "JobCompletion": JobCompletion{}, "ExperimentInput": ExperimentInput{},
		"Experiment": Experiment{}, "Approval": Approval{}, "Approval.asked": ApprovalAsked{},
		"ApprovalDecision": ApprovalDecision{}, "ApprovalDecisionInput": ApprovalDecisionInput{},
		"ApprovalHistoryEntry": ApprovalHistoryEntry{}, "ApprovalInput": ApprovalInput{},
		"ApprovalLevel": ApprovalLevel{}, "AuditCheckpoint": AuditCheckpoint{},
		"CategorySettings": CategorySettings{}, "ChannelInfo": ChannelInfo{}, "ChannelList": ChannelList{},
		"Suppression": Suppression{}, "SuppressionPage": SuppressionPage{}, "SuppressionInput": SuppressionInput{},
		"PreviewInput": PreviewInput{}, "Preview": Preview{}, "Preview.channels": PreviewChannels{},
		"Preview.channels.in_app": InAppPreview{}, "Preview.channels.email": EmailPreview{},
		"Preview.channels.slack": SlackPreview{}, "Preview.channels.webhook": WebhookPreview{},
		"Preview.channels.webhook.payload": WebhookPayload{},
		"Preview.throttle":                 PreviewThrottle{},
		"EventTypeVersion":                 EventTypeVersion{}, "EventTypeVersionPage": EventTypeVersionPage{},
		"Throttle":   Throttle{},
		"Escalation": Escalation{},
		"Retention":  Retention{},
	}
	// Schemas that are not objects, or are only the error body (Error).
	notTypes := []string{"Role", "Channel", "EventStatus", "DeliveryStatus", "NextCursor", "Error", "Frequency"}
	for name := range d.Components.Schemas {
		if _, ok := types[name]; !ok && !slices.Contains(notTypes, name) {
			t.Errorf("schema %s has no client type", name)
		}
	}
	for path, v := range types {
		s := d.lookup(path)
		if s == nil {
			t.Errorf("%s: no such schema in the document", path)
			continue
		}
		want, got := d.properties(s), jsonFields(reflect.TypeOf(v))
		if !slices.Equal(want, got) {
			t.Errorf("%s (%T): document has %v, client has %v", path, v, want, got)
		}
	}
}

// TestVocabulariesAreTheDocuments holds the constants of the client's
// string types to the document's enums.
func TestVocabulariesAreTheDocuments(t *testing.T) {
	d := loadDocument(t)
	for path, consts := range map[string][]string{
		"Frequency": {string(FrequencyImmediate), string(FrequencyHourly), string(FrequencyDaily),
			string(FrequencyWeekly)},
		"Channel": {string(ChannelInApp), string(ChannelEmail), string(ChannelSlack), string(ChannelWebhook)},
		"ChannelInfo.key": {string(ChannelInApp), string(ChannelEmail), string(ChannelSlack), string(ChannelWebhook),
			string(ChannelPush)},
		"Throttle.overflow": {string(OverflowSkip), string(OverflowDigest)},
	} {
		s := d.lookup(path)
		if s == nil {
			t.Errorf("%s: no such schema in the document", path)
			continue
		}
		want := slices.Sorted(slices.Values(s.Enum))
		if got := slices.Sorted(slices.Values(consts)); !slices.Equal(want, got) {
			t.Errorf("%s: document has %v, client has %v", path, want, got)
		}
	}
}

// TestEveryMethodCallsItsRoute calls each method of the client against a
// server that knows only the document's routes and records which one each
// request matched, and what it sent.
func TestEveryMethodCallsItsRoute(t *testing.T) {
	d := loadDocument(t)
	type match struct {
		re    *regexp.Regexp
		route string
	}
	var patterns []match
	for _, r := range d.routes() {
		method, path, _ := strings.Cut(r, " ")
		expr := regexp.MustCompile(`\\\{[a-z]+\\\}`).ReplaceAllString(regexp.QuoteMeta(path), `[^/]+`)
		patterns = append(patterns, match{regexp.MustCompile("^" + method + " " + expr + "$"), r})
	}
	var mu sync.Mutex
	hit := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var route string
		for _, p := range patterns {
			if p.re.MatchString(r.Method + " " + r.URL.EscapedPath()) {
				route = p.route
			}
		}
		if route == "" {
			t.Errorf("%s %s is not a route of the document", r.Method, r.URL)
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		hit[route] = true
		mu.Unlock()
		checkBody(t, d, route, r)
		if strings.HasSuffix(route, "/stream") {
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = io.WriteString(w, "event: end\ndata: {\"reason\":\"user_deleted\"}\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	defer srv.Close()
	c, err := New(srv.URL, "hk_test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := []func() error{
		func() error { _, err := c.Health(ctx); return err },
		func() error { _, err := c.Ready(ctx); return err },
		func() error { _, err := c.OpenAPI(ctx); return err },
		func() error { _, err := c.Metrics(ctx); return err },
		func() error { _, err := c.PutUser(ctx, "u1", UserInput{Name: String("Ada")}, "timezone"); return err },
		func() error { _, err := c.GetUser(ctx, "u1"); return err },
		func() error { return c.DeleteUser(ctx, "u1") },
		func() error { _, err := c.GetPreferences(ctx, "u1"); return err },
		func() error {
			_, err := c.PutPreferences(ctx, "u1", PreferenceDocument{QuietHours: &QuietHours{Start: "22:00"},
				Categories: map[string]CategorySettings{"projects": {Frequency: CategoryFrequency{All: FrequencyDaily}}}})
			return err
		},
		func() error { _, err := c.GetTenantSettings(ctx); return err },
		func() error {
			_, err := c.PutTenantSettings(ctx, TenantSettings{LeadThreshold: Int(70)}, "rules")
			return err
		},
		func() error { _, err := c.GetBranding(ctx); return err },
		func() error {
			_, err := c.PutBranding(ctx, BrandingInput{AccentColor: String("#ff6600")}, "logo_url")
			return err
		},
		func() error { _, err := c.GetSlackIntegration(ctx); return err },
		func() error {
			_, err := c.PutSlackIntegration(ctx, SlackIntegrationInput{Routes: []SlackRoute{{Channel: "#x"}}})
			return err
		},
		func() error { _, err := c.GetWebhookIntegration(ctx); return err },
		func() error {
			_, err := c.PutWebhookIntegration(ctx, WebhookIntegrationInput{URL: String("https://x.example")})
			return err
		},
		func() error { _, err := c.ListEventTypes(ctx, PageOptions{Limit: 5}); return err },
		func() error { _, err := c.PutEventType(ctx, "a.b", EventTypeInput{Title: "T"}); return err },
		func() error {
			_, err := c.PreviewEventType(ctx, "a.b", PreviewInput{UserID: "u1", Data: map[string]any{"x": 1}, Channel: ChannelEmail})
			return err
		},
		func() error { _, err := c.ListEventTypeVersions(ctx, "a.b", PageOptions{Limit: 5}); return err },
		func() error {
			_, err := c.RestoreEventTypeVersion(ctx, "a.b", EventTypeVersion{Version: 1, Definition: EventTypeInput{Title: "T"}})
			return err
		},
		func() error { _, err := c.ListChannels(ctx); return err },
		func() error {
			_, err := c.PostEvent(ctx, EventRequest{Type: "a.b", Data: map[string]any{"x": 1}})
			return err
		},
		func() error { _, err := c.GetEvent(ctx, "e1"); return err },
		func() error { _, err := c.CancelEvent(ctx, "e1"); return err },
		func() error { _, err := c.ListDeliveries(ctx, DeliveryFilter{EventID: "e1"}); return err },
		func() error { _, err := c.RetryDelivery(ctx, "d1"); return err },
		func() error { _, err := c.RetryDeliveries(ctx, BulkRetryInput{Channel: ChannelEmail}); return err },
		func() error { _, err := c.ListSuppressions(ctx, PageOptions{Limit: 5}); return err },
		func() error {
			_, err := c.AddSuppression(ctx, SuppressionInput{Address: "ada@example.com"})
			return err
		},
		func() error { return c.DeleteSuppression(ctx, "ada@example.com") },
		func() error { _, err := c.VerifyAudit(ctx, ""); return err },
		func() error { _, err := c.ListAudit(ctx, AuditFilter{Since: time.Now()}); return err },
		func() error {
			_, err := c.StartApproval(ctx, ApprovalInput{ID: "a1", Title: "T", Requester: "u1",
				Levels: []ApprovalLevel{{Approvers: []string{"u2"}, Timeout: "1h"}}})
			return err
		},
		func() error { _, err := c.GetApproval(ctx, "a1"); return err },
		func() error { _, err := c.WithdrawApproval(ctx, "a1"); return err },
		func() error {
			_, err := c.DecideApproval(ctx, "a1", ApprovalDecisionInput{Approver: "u2", Decision: "approve"})
			return err
		},
		func() error {
			_, err := c.StartExperiment(ctx, ExperimentInput{ID: "x", Name: "X", Variants: []string{"a", "b"}, MinSampleSize: 1})
			return err
		},
		func() error { _, err := c.GetExperiment(ctx, "x"); return err },
		func() error { _, err := c.PostExperimentSamples(ctx, "x", map[string]int64{"a": 1}); return err },
		func() error { _, err := c.ConcludeExperiment(ctx, "x", "a"); return err },
		func() error {
			_, err := c.StartBatch(ctx, BatchInput{ID: "b", ExpectedJobs: 1, Event: BatchEvent{Type: "a.b"}})
			return err
		},
		func() error { _, err := c.GetBatch(ctx, "b"); return err },
		func() error { _, err := c.CompleteBatchJob(ctx, "b", "j"); return err },
		func() error { _, err := c.TestNotification(ctx, "u1"); return err },
		func() error {
			_, err := c.ListNotifications(ctx, "u1", NotificationFilter{Status: "unseen"})
			return err
		},
		func() error { _, err := c.MarkNotificationRead(ctx, "u1", "n1"); return err },
		func() error {
			_, err := c.SetNotificationState(ctx, "u1", "n1", NotificationState{Seen: Bool(true)})
			return err
		},
		func() error { _, err := c.SnoozeNotification(ctx, "u1", "n1", time.Now()); return err },
		func() error { _, err := c.MarkAllRead(ctx, "u1"); return err },
		func() error { _, err := c.MarkAllSeen(ctx, "u1"); return err },
		func() error { _, err := c.ArchiveAllRead(ctx, "u1"); return err },
		func() error { _, err := c.UnreadCount(ctx, "u1"); return err },
		func() error {
			s, err := c.StreamNotifications(ctx, "u1", StreamOptions{})
			if err != nil {
				return err
			}
			defer func() { _ = s.Close() }()
			_, err = s.Next()
			return err
		},
		func() error { _, err := c.CreateInboxToken(ctx, "u1"); return err },
		func() error { _, err := c.InboxPage(ctx, "tok"); return err },
		func() error { _, err := c.InboxWidget(ctx); return err },
		func() error { _, err := c.ApprovalPage(ctx, "tok"); return err },
		func() error {
			_, err := c.DecideApprovalPage(ctx, "tok", ApprovalPageDecision{Decision: "approve"})
			return err
		},
		func() error { _, err := c.UnsubscribePage(ctx, "tok"); return err },
		func() error { _, err := c.Unsubscribe(ctx, "tok"); return err },
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Errorf("call %d: %v", i, err)
		}
	}
	for _, r := range d.routes() {
		if !hit[r] {
			t.Errorf("no client method calls %s", r)
		}
	}
}

// checkBody checks that a request's body is of the documented content type
// and sends only the documented fields.
func checkBody(t *testing.T, d *document, route string, r *http.Request) {
	method, path, _ := strings.Cut(route, " ")
	var op operation
	if err := json.Unmarshal(d.Paths[path][strings.ToLower(method)], &op); err != nil {
		t.Errorf("%s: %v", route, err)
		return
	}
	body, _ := io.ReadAll(r.Body)
	if op.RequestBody == nil {
		if len(body) > 0 {
			t.Errorf("%s takes no body; the client sent %s", route, body)
		}
		return
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	content, ok := op.RequestBody.Content[ct]
	if !ok {
		t.Errorf("%s: the client sent %q, not a documented content type", route, ct)
		return
	}
	if ct != "application/json" {
		return
	}
	var sent map[string]json.RawMessage
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Errorf("%s: body %s: %v", route, body, err)
		return
	}
	props := d.properties(content.Schema)
	for k := range sent {
		if !slices.Contains(props, k) {
			t.Errorf("%s: the client sent field %q; the document has %v", route, k, props)
		}
	}
}
