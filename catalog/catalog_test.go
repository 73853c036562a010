package catalog

import (
	"slices"
	"strings"
	"testing"

	"github.com/heraldhq/herald/channel"
)

func TestRenderIssueAssigned(t *testing.T) {
	t.Parallel()
	typ, ok := BuiltIn().Lookup("issue.assigned")
	if !ok {
		t.Fatal("issue.assigned missing from the catalog")
	}
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	r.Tenant = "Acme"
	c, err := r.Email(map[string]any{"issue_key": "PROJ-1", "title": "<b>Fix</b>\nlogin"},
		Recipient{ID: "u1", Name: "Ada Lovelace"}, "https://app.example/PROJ-1")
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "PROJ-1 was assigned to you: <b>Fix</b> login" {
		t.Errorf("subject = %q: want one line with the data", c.Subject)
	}
	if !strings.HasPrefix(c.Text, "Hi Ada,\n\n") || !strings.Contains(c.Text, "\n\nView issue: https://app.example/PROJ-1\n") ||
		!strings.HasSuffix(c.Text, "\n-- \nYou received this because you are a member of Acme on Herald.") {
		t.Errorf("text part = %q", c.Text)
	}
	if strings.Contains(c.Body, "Hi Ada") || strings.Contains(c.Body, "https://") {
		t.Errorf("in-app body carries email framing: %q", c.Body)
	}
	if strings.Contains(c.HTML, "<b>Fix</b>") || !strings.Contains(c.HTML, "&lt;b&gt;Fix&lt;/b&gt;") {
		t.Errorf("HTML does not escape event data: %s", c.HTML)
	}
	if !strings.Contains(c.HTML, `href="https://app.example/PROJ-1"`) || !strings.Contains(c.HTML, ">View issue</a>") {
		t.Errorf("HTML lacks the labelled link button")
	}
	if !strings.Contains(c.HTML, "member of Acme on Herald") {
		t.Errorf("HTML lacks the footer")
	}
	n, err := r.Notice(map[string]any{"issue_key": "PROJ-1", "title": "<b>Fix</b>\nlogin"}, Recipient{ID: "u1", Name: "Ada Lovelace"}, "https://app.example/PROJ-1")
	if err != nil {
		t.Fatal(err)
	}
	if n.Subject != c.Subject || n.Body != c.Body || n.Text != "" || n.HTML != "" {
		t.Errorf("notice = %+v: want the email's subject and body, no email parts", n)
	}
	if string(c.Hash()) == string((Content{Subject: c.Subject}).Hash()) {
		t.Error("hash ignores the body")
	}
}

func TestWithTenantOverridesFields(t *testing.T) {
	t.Parallel()
	c, err := BuiltIn().WithTenant(map[string][]byte{
		"issue.assigned": []byte(`{"urgent": true}`),
		"deploy.done":    []byte(`{"category": "ops", "default_recipients": "subscribers", "channels": ["in_app"], "templates": {"subject": "Deployed {{.data.v}}"}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := c.Lookup("issue.assigned")
	if !a.Urgent || a.Category != "issues" || a.Templates.Subject == "" {
		t.Errorf("override lost built-in fields or ignored urgent: %+v", a)
	}
	d, ok := c.Lookup("deploy.done")
	if !ok || d.Category != "ops" || d.BuiltIn || !d.Has(channel.InApp) || d.Has(channel.Email) {
		t.Errorf("tenant type = %+v", d)
	}
	if _, ok := BuiltIn().Lookup("deploy.done"); ok {
		t.Error("tenant overlay leaked into the built-in catalog")
	}
	// An override of a list must not write through to the shared built-in one.
	o, _, err := BuiltIn().Resolve("issue.assigned", []byte(`{"channels": ["webhook"], "required_data": ["x"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := o.MissingData(map[string]any{"issue_key": "SN-1"}); !slices.Equal(got, []string{"x"}) {
		t.Errorf("override's required data: missing %v, want [x]", got)
	}
	for _, key := range []string{"issue.assigned", "issue.commented"} {
		typ, _ := BuiltIn().Lookup(key)
		if !typ.Has(channel.InApp) || typ.Has(channel.Webhook) {
			t.Errorf("built-in %s changed by an override: channels %v", key, typ.Channels)
		}
		if !slices.Equal(typ.Required, []string{"issue_key"}) {
			t.Errorf("built-in %s changed by an override: required %v", key, typ.Required)
		}
	}
}

func TestRenderQuotesReplies(t *testing.T) {
	t.Parallel()
	typ, _ := BuiltIn().Lookup("outreach.prospect_replied")
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Email(map[string]any{"prospect_name": "Grace", "campaign_id": "c-9", "sentiment": "positive",
		"reply_excerpt": "Sounds great.\n\nBest, Grace"}, Recipient{ID: "u1"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Text, "> Sounds great.\n>\n> Best, Grace") {
		t.Errorf("text part does not quote the reply: %q", c.Text)
	}
	if !strings.Contains(c.HTML, "<blockquote") || !strings.Contains(c.HTML, "Sounds great.\n\nBest, Grace</blockquote>") {
		t.Errorf("HTML does not set the reply apart: %s", c.HTML)
	}
	if strings.Contains(c.HTML, "View details") {
		t.Error("a button without a link")
	}
	if c.Subject != "Grace replied to your campaign (positive)" {
		t.Errorf("subject = %q", c.Subject)
	}
}

func TestTemplatesSeeTheRecipientInLowerCase(t *testing.T) {
	typ := EventType{Key: "x.y", Title: "X", Templates: Templates{Subject: "Hi {{.user.name}}", Text: "{{.user.id}} <{{.user.email}}>"}}
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Notice(nil, Recipient{ID: "u1", Name: "Ada", Email: "ada@example.com"}, "")
	if err != nil || c.Subject != "Hi Ada" || c.Body != "u1 <ada@example.com>" {
		t.Errorf("rendered %q / %q, %v", c.Subject, c.Body, err)
	}
}
