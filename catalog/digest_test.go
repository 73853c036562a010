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
