package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/client"
)

// TestGoClient drives a real Herald through the Go client a backend
// service would use: create a user, post an event, follow its deliveries
// in the log until the email went out, and find that one email at the
// SMTP server.
func TestGoClient(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	c, err := client.New(env.api.URL, tn.key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The served document and the client name the same routes.
	served, err := c.OpenAPI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(served, &doc); err != nil {
		t.Fatal(err)
	}
	var implemented []string
	for _, r := range client.Routes() {
		implemented = append(implemented, r.Method+" "+r.Path)
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			if r := strings.ToUpper(m) + " " + path; !slices.Contains(implemented, r) {
				t.Errorf("served document has %s; the client does not", r)
			}
		}
	}

	u, err := c.PutUser(ctx, "ada", client.UserInput{Email: client.String("ada@example.com"), Name: client.String("Ada")})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetUser(ctx, "ada"); err != nil || got.Email != "ada@example.com" || got.Role != client.RoleMember || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GetUser = %+v, %v (put answered %+v)", got, err, u)
	}

	// Branding under the PUT rule: the reset field goes back to its default.
	if _, err := c.PutBranding(ctx, client.BrandingInput{ProductName: client.String("Kilo"), AccentColor: client.String("#FF6600")}); err != nil {
		t.Fatal(err)
	}
	if b, err := c.PutBranding(ctx, client.BrandingInput{ReplyTo: client.String("help@kilo.example")}, "accent_color"); err != nil ||
		b.ProductName != "Kilo" || b.AccentColor != "#2f54eb" || b.ReplyTo != "help@kilo.example" {
		t.Fatalf("PutBranding = %+v, %v", b, err)
	}
	if b, err := c.GetBranding(ctx); err != nil || b.ProductName != "Kilo" || b.ReplyTo != "help@kilo.example" {
		t.Fatalf("GetBranding = %+v, %v", b, err)
	}
	if _, err := c.PutBranding(ctx, client.BrandingInput{LogoURL: client.String("http://insecure.example/l.png")}); client.ErrorCode(err) != "invalid_field" {
		t.Fatalf("PutBranding of an http logo: %v, want invalid_field", err)
	}
	// Herald's own look again, so the checks below see the default email.
	if _, err := c.PutBranding(ctx, client.BrandingInput{}, "product_name", "reply_to"); err != nil {
		t.Fatal(err)
	}

	event := client.EventRequest{
		Type:       "issue.assigned",
		Recipients: &client.Recipients{Users: []string{"ada"}},
		Data:       map[string]any{"issue_key": "PROJ-7", "title": "Ship the client"},
		Link:       "https://app.example/issues/PROJ-7",
	}
	acc, err := c.PostEvent(ctx, event) // the client makes the idempotency key
	if err != nil || acc.Duplicate {
		t.Fatalf("PostEvent = %+v, %v", acc, err)
	}
	deliveries := waitDelivered(t, ctx, c, acc.EventID)
	if len(deliveries) != 2 {
		t.Fatalf("deliveries = %+v, want in_app and email", deliveries)
	}
	mails := mailFor(acc.EventID)
	if len(mails) != 1 || mails[0].To[0] != "ada@example.com" || mails[0].Subject != "PROJ-7 was assigned to you: Ship the client" {
		t.Fatalf("caught %d emails for the event (%+v), want one to ada", len(mails), mails)
	}

	// A key of the caller's own: the repeat is the same event, mailed once.
	event.IdempotencyKey = "client-e2e-1"
	first, err := c.PostEvent(ctx, event)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.PostEvent(ctx, event)
	if err != nil || !again.Duplicate || again.EventID != first.EventID {
		t.Fatalf("repeat = %+v, %v; want the first event (%s) as a duplicate", again, err, first.EventID)
	}
	waitDelivered(t, ctx, c, first.EventID)
	if n := len(mailFor(first.EventID)); n != 1 {
		t.Errorf("caught %d emails for the keyed event, want 1", n)
	}
	if n, err := c.UnreadCount(ctx, "ada"); err != nil || n.Count != 2 {
		t.Errorf("unread count = %+v, %v; want the two events' items", n, err)
	}

	// Errors arrive typed, and refused input stores nothing.
	var apiErr *client.Error
	_, err = c.PostEvent(ctx, client.EventRequest{Type: "no.such_type", Recipients: &client.Recipients{Users: []string{"ada"}}})
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || apiErr.Code != "unknown_event_type" {
		t.Errorf("unknown type: %v", err)
	}
	if _, err := c.GetUser(ctx, "nobody"); client.ErrorCode(err) != "not_found" {
		t.Errorf("missing user: %v", err)
	}
	if page, err := c.ListDeliveries(ctx, client.DeliveryFilter{}); err != nil || len(page.Data) != 4 {
		t.Errorf("delivery log = %d rows, %v; want the two events' four", len(page.Data), err)
	}
}

// waitDelivered lists an event's deliveries through the client until every
// one is delivered.
func waitDelivered(t *testing.T, ctx context.Context, c *client.Client, eventID string) []client.Delivery {
	t.Helper()
	for {
		page, err := c.ListDeliveries(ctx, client.DeliveryFilter{EventID: eventID})
		if err != nil {
			t.Fatal(err)
		}
		done := len(page.Data) > 0
		for _, d := range page.Data {
			switch d.Status {
			case client.DeliveryDelivered:
			case client.DeliveryPending:
				done = false
			default:
				t.Fatalf("delivery %+v is not delivered", d)
			}
		}
		if done && len(page.Data) == 2 {
			return page.Data
		}
		select {
		case <-ctx.Done():
			t.Fatalf("event %s: deliveries %+v not all delivered in time", eventID, page.Data)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// The Go client previews a type and rolls a bad edit back against a real
// Herald: the restored version is the type again, fields it did not set
// included.
func TestGoClientPreviewAndRollBack(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	c, err := client.New(env.api.URL, tn.key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const key = "deploy.clientversioned"
	good := client.EventTypeInput{Category: "deploys", Title: "Deployed", Templates: &client.EventTypeTemplates{Subject: "{{.data.service}} is live", Text: "done"}}
	if _, err := c.PutEventType(ctx, key, good); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutEventType(ctx, key, client.EventTypeInput{Urgent: client.Bool(true),
		Templates: &client.EventTypeTemplates{Subject: "oops", Text: "oops"}}); err != nil {
		t.Fatal(err)
	}
	page, err := c.ListEventTypeVersions(ctx, key, client.PageOptions{})
	if err != nil || len(page.Data) != 2 || page.Data[1].Version != 1 {
		t.Fatalf("versions: %+v %v", page, err)
	}
	typ, err := c.RestoreEventTypeVersion(ctx, key, page.Data[1])
	if err != nil {
		t.Fatal(err)
	}
	if typ.Urgent || typ.Templates.Subject != "{{.data.service}} is live" {
		t.Errorf("restored type: %+v", typ)
	}
	p, err := c.PreviewEventType(ctx, key, client.PreviewInput{Data: map[string]any{"service": "billing"}, Channel: client.ChannelEmail})
	if err != nil {
		t.Fatal(err)
	}
	if p.Channels.Email == nil || p.Channels.Email.Subject != "billing is live" || p.Channels.InApp != nil || p.UserID != nil {
		t.Errorf("preview: %+v", p)
	}
}
