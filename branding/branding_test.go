package branding

import (
	"testing"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	for _, tc := range []struct {
		name  string
		in    Branding
		field string // "" accepts
		want  Branding
	}{
		{"empty is Herald's", Branding{}, "", Branding{}},
		{"trimmed, colour lower-case", Branding{ProductName: " Kilo ", AccentColor: "#FF6600", ReplyTo: "help@kilo.example", Footer: " Kilo GmbH\r\nBerlin "},
			"", Branding{ProductName: "Kilo", AccentColor: "#ff6600", ReplyTo: "help@kilo.example", Footer: "Kilo GmbH\nBerlin"}},
		{"defaults stored as none", Branding{ProductName: "Herald", AccentColor: "#2F54EB"}, "", Branding{}},
		{"https logo", Branding{LogoURL: "https://cdn.example:8443/l.png?v=2"}, "", Branding{LogoURL: "https://cdn.example:8443/l.png?v=2"}},
		{"http logo", Branding{LogoURL: "http://cdn.example/l.png"}, "logo_url", Branding{}},
		{"javascript logo", Branding{LogoURL: "javascript:alert(1)"}, "logo_url", Branding{}},
		{"data logo", Branding{LogoURL: "data:image/png;base64,AAAA"}, "logo_url", Branding{}},
		{"logo with a quote", Branding{LogoURL: `https://cdn.example/l.png"onerror="x`}, "logo_url", Branding{}},
		{"logo with credentials", Branding{LogoURL: "https://u:p@cdn.example/l.png"}, "logo_url", Branding{}},
		{"relative logo", Branding{LogoURL: "/l.png"}, "logo_url", Branding{}},
		{"colour name", Branding{AccentColor: "red"}, "accent_color", Branding{}},
		{"short colour", Branding{AccentColor: "#f60"}, "accent_color", Branding{}},
		{"colour with CSS", Branding{AccentColor: "#ff6600;background:url(x)"}, "accent_color", Branding{}},
		{"reply-to with a name", Branding{ReplyTo: "Help <help@kilo.example>"}, "reply_to", Branding{}},
		{"reply-to not an address", Branding{ReplyTo: "help"}, "reply_to", Branding{}},
		{"two reply-tos", Branding{ReplyTo: "a@x.example, b@x.example"}, "reply_to", Branding{}},
		{"from name with a newline", Branding{FromName: "Kilo\nBcc: x@y"}, "from_name", Branding{}},
		{"long product name", Branding{ProductName: long(MaxName + 1)}, "product_name", Branding{}},
		{"long footer", Branding{Footer: long(MaxFooter + 1)}, "footer", Branding{}},
		{"footer with a control character", Branding{Footer: "a\x1bb"}, "footer", Branding{}},
	} {
		got, err := tc.in.Normalize()
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.field == "" && got != tc.want:
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		case tc.field != "" && (err == nil || err.Field != tc.field):
			t.Errorf("%s: got error %v, want one on %s", tc.name, err, tc.field)
		}
	}
}

func TestDefaultsAndOrigin(t *testing.T) {
	t.Parallel()
	var b Branding
	if b.Product() != "Herald" || b.Accent() != "#2f54eb" || b.LogoOrigin() != "" {
		t.Errorf("defaults: %q %q %q", b.Product(), b.Accent(), b.LogoOrigin())
	}
	b = Branding{ProductName: "Kilo", AccentColor: "#ff6600", LogoURL: "https://cdn.example:8443/a/l.png"}
	if b.Product() != "Kilo" || b.Accent() != "#ff6600" || b.LogoOrigin() != "https://cdn.example:8443" {
		t.Errorf("set: %q %q %q", b.Product(), b.Accent(), b.LogoOrigin())
	}
}
