package mailer

import (
	"testing"

	"github.com/wneessen/go-mail"
)

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		url         string
		port        int
		implicitTLS bool
	}{
		{"smtp://mail.example.com", 587, false},
		{"smtp://mail.example.com:25", 25, false},
		{"smtps://mail.example.com", 465, true},
		{"smtps://mail.example.com:2465", 2465, true},
		{"smtps://mail.example.com?tls=none", 465, false},
		{"SMTP://user:pass@[::1]:1025?tls=none", 1025, false},
	}
	for _, tt := range tests {
		s, err := New(tt.url, "noreply@herald.test", 0)
		if err != nil {
			t.Errorf("New(%q): %v", tt.url, err)
			continue
		}
		if s.port != tt.port || s.implicitTLS != tt.implicitTLS || s.pool.max != 1 {
			t.Errorf("New(%q): port %d, implicit TLS %v, max conns %d; want %d, %v, 1",
				tt.url, s.port, s.implicitTLS, s.pool.max, tt.port, tt.implicitTLS)
		}
	}
}

// TestStartTLSPolicy checks the policy New hands to go-mail: a relay anywhere but on
// this machine must not receive mail (or a password) in plain text because a
// man-in-the-middle stripped STARTTLS from its greeting.
func TestStartTLSPolicy(t *testing.T) {
	tests := []struct {
		url  string
		want mail.TLSPolicy
	}{
		{"smtp://mail.example.com", mail.TLSMandatory},
		{"smtp://user:pass@mail.example.com:2525", mail.TLSMandatory},
		{"smtp://10.0.0.5:25", mail.TLSMandatory},
		{"smtp://[2001:db8::1]:25", mail.TLSMandatory},
		{"smtp://localhost.example.com", mail.TLSMandatory},
		{"smtp://128.0.0.1", mail.TLSMandatory},
		{"smtp://localhost:1025", mail.TLSOpportunistic},
		{"smtp://LOCALHOST.:1025", mail.TLSOpportunistic},
		{"smtp://127.0.0.1:1025", mail.TLSOpportunistic},
		{"smtp://127.8.9.10", mail.TLSOpportunistic},
		{"smtp://[::1]:1025", mail.TLSOpportunistic},
		{"smtp://mail.example.com?tls=none", mail.NoTLS},
		{"smtp://user:pass@mail.example.com?tls=none", mail.NoTLS},
		{"smtp://127.0.0.1:1025?tls=none", mail.NoTLS},
	}
	for _, tt := range tests {
		s, err := New(tt.url, "noreply@herald.test", 1)
		if err != nil {
			t.Errorf("New(%q): %v", tt.url, err)
			continue
		}
		if s.tlsPolicy != tt.want || s.client.TLSPolicy() != tt.want.String() {
			t.Errorf("New(%q): policy %v, go-mail client %s; want %v", tt.url, s.tlsPolicy, s.client.TLSPolicy(), tt.want)
		}
	}
}
