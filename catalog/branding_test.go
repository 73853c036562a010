package catalog

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/branding"
)

func TestEmailCarriesTheTenantsBranding(t *testing.T) {
	t.Parallel()
	typ, _ := BuiltIn().Lookup("issue.assigned")
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	r.Tenant = "Acme"
	r.Brand = branding.Branding{ProductName: "Kilo <Ops>", LogoURL: "https://cdn.example/logo.png?a=1&b=2",
		AccentColor: "#ff6600", Footer: "Kilo GmbH, Berlin\n<script>alert(1)</script>"}
	c, err := r.Email(map[string]any{"issue_key": "PROJ-1", "title": "Fix"}, Recipient{ID: "u1", Name: "Ada"}, "https://app.example/PROJ-1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.Text, "\n-- \nKilo GmbH, Berlin\n<script>alert(1)</script>\nYou received this because you are a member of Acme on Kilo <Ops>.") {
		t.Errorf("text part's footer = %q", c.Text)
	}
	for _, want := range []string{
		`<img src="https://cdn.example/logo.png?a=1&amp;b=2" alt="Kilo &lt;Ops&gt;"`,
		`background:#ff6600;`, `border-top:4px solid #ff6600`,
		"Kilo GmbH, Berlin\n&lt;script&gt;alert(1)&lt;/script&gt;</p>",
		"member of Acme on Kilo &lt;Ops&gt;.",
	} {
		if !strings.Contains(c.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, c.HTML)
		}
	}
	if strings.Contains(c.HTML, "#2f54eb") || strings.Contains(c.HTML, "<script>") || strings.Contains(c.HTML, "ZgotmplZ") {
		t.Errorf("HTML keeps Herald's colour or lets markup through:\n%s", c.HTML)
	}
}

func TestEmailWithoutBrandingIsHeralds(t *testing.T) {
	t.Parallel()
	typ, _ := BuiltIn().Lookup("issue.assigned")
	r, err := NewRenderer(typ)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Email(map[string]any{"issue_key": "PROJ-1", "title": "Fix"}, Recipient{ID: "u1"}, "https://app.example/PROJ-1")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.HTML, "<img") || !strings.Contains(c.HTML, "background:#2f54eb;") || !strings.HasSuffix(c.Text, "a team on Herald.") {
		t.Errorf("default email is not Herald's:\ntext %q\nhtml %s", c.Text, c.HTML)
	}
}
