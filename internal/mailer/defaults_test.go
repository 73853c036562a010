package mailer

import "testing"

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		url         string
		port        int
		implicitTLS bool
		concurrency int
	}{
		{"smtp://mail.example.com", 587, false, 1},
		{"smtp://mail.example.com:25", 25, false, 1},
		{"smtps://mail.example.com", 465, true, 1},
		{"smtps://mail.example.com:2465", 2465, true, 1},
		{"smtps://mail.example.com?tls=none", 465, false, 1},
		{"SMTP://user:pass@[::1]:1025?tls=none", 1025, false, 1},
	}
	for _, tt := range tests {
		s, err := New(tt.url, "noreply@herald.test", 0)
		if err != nil {
			t.Errorf("New(%q): %v", tt.url, err)
			continue
		}
		if s.port != tt.port || s.implicitTLS != tt.implicitTLS || s.concurrency != tt.concurrency {
			t.Errorf("New(%q): port %d, implicit TLS %v, concurrency %d; want %d, %v, %d",
				tt.url, s.port, s.implicitTLS, s.concurrency, tt.port, tt.implicitTLS, tt.concurrency)
		}
	}
}
