// Package branding is how a tenant's notifications present themselves:
// the product name Herald goes by, a logo, an accent colour, the From name
// and Reply-To of emails, and a footer. It owns the shape stored in
// tenants.branding and its checks; it does no I/O.
package branding

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults: Herald's own look, what a tenant that set nothing gets.
const (
	DefaultProductName = "Herald"
	DefaultAccentColor = "#2f54eb"
)

// Bounds on the fields, in characters (URL and address in bytes).
const (
	MaxName    = 100
	MaxFooter  = 500
	MaxLogoURL = 2000
	MaxAddress = 254
)

// Branding is a tenant's branding. The zero value of a field is its
// default: ProductName and AccentColor read through their methods;
// LogoURL, ReplyTo and Footer "" mean none, FromName "" keeps the name of
// the server's From address.
type Branding struct {
	ProductName string `json:"product_name,omitempty"`
	LogoURL     string `json:"logo_url,omitempty"`
	AccentColor string `json:"accent_color,omitempty"`
	FromName    string `json:"from_name,omitempty"`
	ReplyTo     string `json:"reply_to,omitempty"`
	Footer      string `json:"footer,omitempty"`
}

// Parse reads a stored branding; empty or '{}' is the default.
func Parse(raw []byte) (Branding, error) {
	var b Branding
	if len(raw) == 0 {
		return b, nil
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return Branding{}, fmt.Errorf("branding: %w", err)
	}
	return b, nil
}

// Product is the name notifications give the product: the tenant's, or
// Herald.
func (b Branding) Product() string {
	if b.ProductName == "" {
		return DefaultProductName
	}
	return b.ProductName
}

// Accent is the accent colour, #rrggbb.
func (b Branding) Accent() string {
	if b.AccentColor == "" {
		return DefaultAccentColor
	}
	return b.AccentColor
}

// LogoOrigin is the scheme and host of the logo, for a page's
// Content-Security-Policy img-src; "" without a logo.
func (b Branding) LogoOrigin() string {
	if b.LogoURL == "" {
		return ""
	}
	u, err := url.Parse(b.LogoURL)
	if err != nil || !safeHost.MatchString(u.Host) {
		return ""
	}
	return "https://" + u.Host
}

// FieldError names the field a branding refuses and why.
type FieldError struct{ Field, Message string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

var (
	color = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
	// safeHost is a host a CSP source expression and an HTML attribute
	// take as it is: a DNS name or an IP address, and a port.
	safeHost = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$`)
)

// Normalize checks b and returns it as it is stored: text trimmed, the
// colour lower-case, an empty product name or colour is the default.
func (b Branding) Normalize() (Branding, *FieldError) {
	var err *FieldError
	if b.ProductName, err = name("product_name", b.ProductName); err != nil {
		return b, err
	}
	if b.FromName, err = name("from_name", b.FromName); err != nil {
		return b, err
	}
	if b.AccentColor = strings.TrimSpace(b.AccentColor); b.AccentColor != "" {
		if !color.MatchString(b.AccentColor) {
			return b, &FieldError{"accent_color", "must be a colour written #RRGGBB, e.g. #2f54eb"}
		}
		b.AccentColor = strings.ToLower(b.AccentColor)
		if b.AccentColor == DefaultAccentColor {
			b.AccentColor = ""
		}
	}
	if b.ProductName == DefaultProductName {
		b.ProductName = ""
	}
	if b.LogoURL = strings.TrimSpace(b.LogoURL); b.LogoURL != "" {
		if err := logo(b.LogoURL); err != nil {
			return b, err
		}
	}
	if b.ReplyTo = strings.TrimSpace(b.ReplyTo); b.ReplyTo != "" {
		a, perr := mail.ParseAddress(b.ReplyTo)
		if perr != nil || a.Address != b.ReplyTo || len(b.ReplyTo) > MaxAddress || strings.ContainsAny(b.ReplyTo, "\r\n<>\"") {
			return b, &FieldError{"reply_to", fmt.Sprintf("must be one email address (name@example.com) of at most %d characters", MaxAddress)}
		}
	}
	b.Footer = strings.TrimSpace(strings.ReplaceAll(b.Footer, "\r\n", "\n"))
	if utf8.RuneCountInString(b.Footer) > MaxFooter || !utf8.ValidString(b.Footer) || strings.ContainsFunc(b.Footer, func(r rune) bool {
		return r != '\n' && unicode.IsControl(r)
	}) {
		return b, &FieldError{"footer", fmt.Sprintf("must be text of at most %d characters (line breaks allowed, no other control characters)", MaxFooter)}
	}
	return b, nil
}

// name checks a one-line name.
func name(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > MaxName || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return s, &FieldError{field, fmt.Sprintf("must be one line of at most %d characters", MaxName)}
	}
	return s, nil
}

// logo refuses a logo that is not an https URL with a plain host: it is
// shown as an <img> in emails and pages, so javascript:, data: and http:
// (mixed content, trackable in transit) are all out.
func logo(s string) *FieldError {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "https" || !safeHost.MatchString(u.Host) || u.User != nil || len(s) > MaxLogoURL ||
		strings.ContainsFunc(s, func(r rune) bool {
			return r <= ' ' || r == '"' || r == '\'' || r == '<' || r == '>' || r == '\\' || r >= 0x7f
		}) {
		return &FieldError{"logo_url", fmt.Sprintf("must be an absolute https URL of at most %d characters", MaxLogoURL)}
	}
	return nil
}
