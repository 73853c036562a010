package catalog

import (
	"strings"
	"testing"
)

// A digest reads as a list: every group with its count, every item's title
// linked in HTML and listed in text, and the rest of a long window counted.
func TestDigestRenders(t *testing.T) {
	typ, ok := BuiltIn().Lookup(Digest)
	if !ok || !typ.Internal || !typ.Notifies() {
		t.Fatalf("digest type: %+v %v", typ, ok)
	}
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	raw := `{"label":"Daily digest","total":53,"groups":[
		{"title":"Issues","total":52,"more":50,"items":[
			{"title":"PROJ-2 was assigned to you","link":"https://app.example/2"},
			{"title":"<b>PROJ-1</b> moved to Done","body":"It moved."}]},
		{"title":"Outreach","total":1,"items":[{"title":"Ada replied","link":"javascript:alert(1)"}]}]}`
	data, err := DecodeData([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Email(data, Recipient{ID: "u1", Name: "Ada Lovelace"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject != "Daily digest: 53 notifications" {
		t.Errorf("subject %q", c.Subject)
	}
	for _, want := range []string{"Issues (52)", "- PROJ-2 was assigned to you <https://app.example/2>", "- <b>PROJ-1</b> moved to Done", "…and 50 more", "Outreach (1)", "- Ada replied"} {
		if !strings.Contains(c.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, c.Text)
		}
	}
	for _, want := range []string{`<a href="https://app.example/2"`, "&lt;b&gt;PROJ-1&lt;/b&gt;", "It moved.", "…and 50 more"} {
		if !strings.Contains(c.HTML, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(c.HTML, "javascript:") || strings.Contains(c.HTML, "<b>PROJ") {
		t.Errorf("HTML carries unsafe content:\n%s", c.HTML)
	}
}

// The weekly time review lists, per recipient, what waits for a review and
// what was rejected, and says so plainly when the week had no entries.
func TestTimeReviewRenders(t *testing.T) {
	typ, ok := BuiltIn().Lookup(TimeReview)
	if !ok || !typ.Internal || typ.Category != "analytics" || !IsSummary(TimeReview) {
		t.Fatalf("time review type: %+v %v", typ, ok)
	}
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ data, subject, text string }{
		{`{"you":{"total":30,"hours":11.5,"approved":1,"waiting_count":27,"waiting_more":26,"rejected_count":1,
			"waiting":[{"entry_id":"te-1","project":"Atlas","date":"2026-01-12","hours":"4","link":"https://app.example/te-1"}],
			"rejected":[{"entry_id":"te-2","hours":"1"}]}}`,
			"Your time review: 30 entries this week, 27 wait for review, 1 rejected",
			"This week: 30 time entries, 11.5 hours; 1 approved.\n\nWaiting for review:\n- te-1 on Atlas, January 12, 2026, 4 hours <https://app.example/te-1>\n…and 26 more" +
				"\n\nRejected, to correct and submit again:\n- te-2, 1 hour"},
		// As the activity builds it: Go numbers, and 0 is false.
		{"", "Your time review: no time entries this week", "No time entries this week."},
	} {
		data := map[string]any{"you": map[string]any{"total": 0, "hours": 0.0, "approved": 0}}
		if tt.data != "" {
			var err error
			if data, err = DecodeData([]byte(tt.data)); err != nil {
				t.Fatal(err)
			}
		}
		c, err := r.Notice(data, Recipient{ID: "u1"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if c.Subject != tt.subject || c.Body != tt.text {
			t.Errorf("got %q\n%q\nwant %q\n%q", c.Subject, c.Body, tt.subject, tt.text)
		}
	}
}
