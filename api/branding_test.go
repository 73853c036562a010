package api

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/branding"
)

// The pages put the tenant's branding in HTML, attribute and CSS contexts:
// each must come out as the value, escaped, never as html/template's
// ZgotmplZ (a value it refused) or as markup.
func TestPagesCarryTheBranding(t *testing.T) {
	t.Parallel()
	b := branding.Branding{ProductName: `Kilo "<b>"`, AccentColor: "#ff6600", LogoURL: "https://cdn.example/l.png?a=1&b=2"}
	var inbox, appr strings.Builder
	if err := inboxPage.Execute(&inbox, inboxPageView{User: "u1", Token: "t", Nonce: "n", Brand: b}); err != nil {
		t.Fatal(err)
	}
	if err := approvalPage.Execute(&appr, approvalPageView{Heading: "Decide", Brand: b}); err != nil {
		t.Fatal(err)
	}
	for name, page := range map[string]string{"inbox": inbox.String(), "approval": appr.String()} {
		for _, want := range []string{"#ff6600", `Kilo &#34;&lt;b&gt;&#34;`, `<img src="https://cdn.example/l.png?a=1&amp;b=2"`} {
			if !strings.Contains(page, want) {
				t.Errorf("%s page lacks %q", name, want)
			}
		}
		if strings.Contains(page, "ZgotmplZ") || strings.Contains(page, "<b>") || strings.Contains(page, "#2f54eb") {
			t.Errorf("%s page mangles or lets through the branding:\n%s", name, page)
		}
	}
}
