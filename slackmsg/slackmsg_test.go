package slackmsg

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/heraldhq/herald/catalog"
)

func build(t *testing.T, key string, data map[string]any, link string) (Message, string) {
	t.Helper()
	return buildWith(t, Build, key, data, link)
}

func encodeBlocks(t *testing.T, m Message) string {
	t.Helper()
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // read the blocks as Slack does
	if err := enc.Encode(m.Blocks); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestBuildShowsWhatSlackUsersRead(t *testing.T) {
	m, blocks := build(t, "outreach.campaign_completed",
		map[string]any{"campaign_id": "c1", "name": "Spring <launch> & co", "sent": json.Number("1200000"), "replies": 34, "bounced": 2},
		"https://app.example/campaigns/c1")
	for _, want := range []string{
		`"type":"header"`, `"type":"actions"`, `"url":"https://app.example/campaigns/c1"`,
		`*Sent*\n1,200,000`, `*Replies*\n34`, `*Campaign*\nSpring &lt;launch&gt; &amp; co`, `Acme · outreach`,
	} {
		if !strings.Contains(blocks, want) {
			t.Errorf("blocks lack %s:\n%s", want, blocks)
		}
	}
	if strings.Contains(blocks, `"mrkdwn","text":"Campaign Spring <launch>`) || strings.Contains(blocks, `*Campaign*\nSpring <`) {
		t.Errorf("data reached Slack's markup unescaped: %s", blocks)
	}
	if m.Text == "" || !strings.Contains(m.Text, "Spring") {
		t.Errorf("fallback text %q", m.Text)
	}
}

func TestBuildOmitsMissingDataAndBadLinks(t *testing.T) {
	_, blocks := build(t, "issue.assigned", map[string]any{"issue_key": "P-1"}, "javascript:alert(1)")
	if strings.Contains(blocks, "Title") || strings.Contains(blocks, "no value") || strings.Contains(blocks, "null") {
		t.Errorf("missing data shows: %s", blocks)
	}
	if strings.Contains(blocks, `"type":"actions"`) {
		t.Errorf("a non-web link became a button: %s", blocks)
	}
}

func TestBuildCutsToSlackLimits(t *testing.T) {
	long := strings.Repeat("x", 5000)
	m, blocks := build(t, "system.notice", map[string]any{"title": long, "message": long}, "")
	var raw []map[string]any
	_ = json.Unmarshal([]byte(blocks), &raw)
	header := raw[0]["text"].(map[string]any)["text"].(string)
	section := raw[1]["text"].(map[string]any)["text"].(string)
	if n := len([]rune(header)); n > 150 || !strings.HasSuffix(header, "…") {
		t.Errorf("header of %d characters", n)
	}
	if n := len([]rune(section)); n > 3000 {
		t.Errorf("section of %d characters", n)
	}
	if len([]rune(m.Text)) > 3000 {
		t.Errorf("fallback of %d characters", len([]rune(m.Text)))
	}
}

func TestLeadBrief(t *testing.T) {
	_, blocks := build(t, "lead.qualified", map[string]any{
		"lead_id": "l1", "score": 82, "persona": "CTO", "company": "Initech",
		"fields": map[string]any{"budget": "50k", "timeline": "Q3"}, "summary": "Wants SSO.",
		"transcript_url": "https://calls.example/t/1",
	}, "https://app.example/leads/l1")
	for _, want := range []string{`*Persona*\nCTO`, `*Company*\nInitech`, `*Score*\n82`, `*budget*\n50k`, `*timeline*\nQ3`, `*Summary*\nWants SSO.`, `"url":"https://calls.example/t/1"`, `Transcript`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the lead brief lacks %s:\n%s", want, blocks)
		}
	}
}

func TestEveryBuiltInSlackTypeBuilds(t *testing.T) {
	for _, typ := range catalog.BuiltIn().All() {
		if !typ.Has("slack") {
			continue
		}
		data := map[string]any{}
		for _, k := range typ.Required {
			data[k] = "sample-" + k
		}
		m, blocks := build(t, typ.Key, data, "https://app.example/x")
		if m.Text == "" || !strings.Contains(blocks, `"type":"header"`) {
			t.Errorf("%s: %q %s", typ.Key, m.Text, blocks)
		}
	}
}

func TestTenantTypeGetsTheGenericLayout(t *testing.T) {
	typ := catalog.EventType{Key: "acme.deploy", Category: "ops", Title: "Deploy", Templates: catalog.Templates{Subject: "Deployed {{.data.v}}", Text: "Version {{.data.v}} is live."}}
	r, err := catalog.NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(typ, r, map[string]any{"v": "1.2"}, "", "", catalog.Recipient{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(m.Blocks)
	if !strings.Contains(string(b), "Deployed 1.2") || !strings.Contains(string(b), "Version 1.2 is live.") || strings.Contains(string(b), `"fields"`) {
		t.Errorf("tenant type blocks: %s", b)
	}
}

func TestDigestListsItemsByCategory(t *testing.T) {
	typ, _ := catalog.BuiltIn().Lookup(catalog.Digest)
	r, err := catalog.NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	data, err := catalog.DecodeData([]byte(`{"label":"Your hourly digest","total":7,"groups":[
		{"title":"Issues","total":6,"more":5,"items":[{"title":"PROJ-1 <moved>","link":"https://app.example/1"}]},
		{"title":"Outreach","total":1,"items":[{"title":"Ada replied","link":"https://x.example/a|b"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(typ, r, data, "", "Acme", catalog.Recipient{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(m)
	for _, want := range []string{"Your hourly digest: 7 notifications", `*Issues* (6)\n• \u003chttps://app.example/1|PROJ-1 \u0026lt;moved\u0026gt;\u003e`, `…and 5 more`, `• Ada replied`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("digest message lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), "a|b") {
		t.Errorf("a link that breaks Slack's link syntax was kept: %s", raw)
	}
}

func TestCampaignCompletedShowsRates(t *testing.T) {
	_, blocks := build(t, "outreach.campaign_completed", map[string]any{"name": "Fall", "sent": 200, "replies": 3, "bounced": 7}, "")
	for _, want := range []string{`*Sent*\n200`, `*Replies*\n3`, `*Bounced*\n7`, `*Reply rate*\n1.5%`, `*Bounce rate*\n3.5%`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the campaign message lacks %s:\n%s", want, blocks)
		}
	}
}

func TestExperimentReadyShowsEachVariant(t *testing.T) {
	_, blocks := build(t, "outreach.experiment_ready", map[string]any{"experiment_id": "subj", "name": "Subject lines",
		"counts": map[string]any{"a": 1000, "b": 1200}}, "")
	for _, want := range []string{`*Name*\nSubject lines`, `*a*\n1,000`, `*b*\n1,200`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the experiment message lacks %s:\n%s", want, blocks)
		}
	}
}

func TestUsageProjectionShowsWhen(t *testing.T) {
	m, blocks := build(t, "usage.projection_alert", map[string]any{"metric": "emails", "used": json.Number("6000"),
		"limit": json.Number("10000"), "rate": json.Number("500"), "projected_on": "2026-01-19", "period_end": "2026-02-01"}, "")
	for _, want := range []string{`*Limit reached around*\n2026-01-19`, `*Period ends*\n2026-02-01`, `*Limit*\n10,000`, "around January 19, 2026, before the period ends on February 1, 2026"} {
		if !strings.Contains(blocks, want) {
			t.Errorf("blocks lack %s:\n%s", want, blocks)
		}
	}
	if !strings.Contains(m.Text, "You will reach your emails limit around January 19, 2026") {
		t.Errorf("fallback text %q", m.Text)
	}
}

// TestSlackInTheReadersLanguage: a DM to a reader of de-AT has German
// labels, numbers grouped as in Austria, and the German button; a
// channel post follows the tenant's default (French here).
func TestSlackInTheReadersLanguage(t *testing.T) {
	typ, _ := catalog.BuiltIn().Lookup("outreach.campaign_completed")
	r, err := catalog.NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	r.Locale = "fr"
	data := map[string]any{"name": "Frühling", "sent": json.Number("1200"), "replies": json.Number("3"), "bounced": json.Number("7")}
	dm, err := Build(typ, r, data, "https://app.example/c", "Acme", catalog.Recipient{Locale: "de-AT"})
	if err != nil {
		t.Fatal(err)
	}
	blocks := encodeBlocks(t, dm)
	for _, want := range []string{"Kampagne Frühling abgeschlossen", "*Gesendet*\\n1\u00a0200", "*Antwortquote*\\n0,3\u00a0%", `"text":"Details ansehen"`} {
		if !strings.Contains(blocks, want) {
			t.Errorf("the DM lacks %q:\n%s", want, blocks)
		}
	}
	post, err := Build(typ, r, data, "https://app.example/c", "Acme", catalog.Recipient{})
	if err != nil {
		t.Fatal(err)
	}
	if blocks := encodeBlocks(t, post); !strings.Contains(blocks, "Campagne Frühling terminée") || !strings.Contains(blocks, "*Envoyés*\\n1\u00a0200") {
		t.Errorf("the channel post is not in the tenant's French:\n%s", blocks)
	}
}
