package activities

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/heraldhq/herald/internal/netguard"
)

// Endpoint URLs may be credentials (a Slack incoming webhook's path is its
// secret): the errors that reach logs and the delivery log never show them.
func TestOutboundErrorsHideURLs(t *testing.T) {
	const secretURL = "https://hooks.slack.example/services/T000/B000/XXXXsecretXXXX"
	raw := &url.Error{Op: "Post", URL: secretURL, Err: errors.Join(errors.New("dial tcp 10.0.0.5:443"), netguard.ErrForbidden)}
	err := redactURL(raw, "the Slack incoming webhook")
	if strings.Contains(err.Error(), "secret") || !errors.Is(err, netguard.ErrForbidden) {
		t.Errorf("redacted error %q: want no URL and still ErrForbidden", err)
	}
	s, w := &SlackSender{}, &WebhookSender{}
	for _, sentence := range []string{s.Describe(err), w.Describe(err)} {
		if strings.Contains(sentence, "10.0.0.5") || strings.Contains(sentence, "secret") || !strings.Contains(sentence, "private") {
			t.Errorf("Describe = %q", sentence)
		}
	}
	if !s.Permanent(err) || !w.Permanent(err) {
		t.Error("a forbidden address is worth retrying? it is not")
	}
}

func TestErrorClasses(t *testing.T) {
	s, w := &SlackSender{}, &WebhookSender{}
	for _, tc := range []struct {
		name      string
		err       error
		slack     bool
		webhook   bool
		sentences []string
	}{
		{"slack channel_not_found", slack.SlackErrorResponse{Err: "channel_not_found"}, true, false, []string{"channel_not_found"}},
		{"slack ratelimited", &slack.RateLimitedError{}, false, false, []string{"rate-limited"}},
		{"slack 500", slack.StatusCodeError{Code: 500}, false, false, []string{"HTTP 500"}},
		{"slack webhook 404", slack.StatusCodeError{Code: 404}, true, false, []string{"HTTP 404"}},
		{"endpoint 503", &StatusError{Code: http.StatusServiceUnavailable}, false, false, []string{"HTTP 503"}},
		{"endpoint 429", &StatusError{Code: http.StatusTooManyRequests}, false, false, []string{"HTTP 429"}},
		{"endpoint 408", &StatusError{Code: http.StatusRequestTimeout}, false, false, []string{"HTTP 408"}},
		{"endpoint 400", &StatusError{Code: http.StatusBadRequest}, false, true, []string{"HTTP 400"}},
		{"endpoint 302", &StatusError{Code: http.StatusFound}, false, true, []string{"redirect"}},
		{"deadline", context.DeadlineExceeded, false, false, nil},
	} {
		if tc.name[:5] == "slack" {
			if got := s.Permanent(tc.err); got != tc.slack {
				t.Errorf("%s: slack Permanent = %v", tc.name, got)
			}
			for _, want := range tc.sentences {
				if !strings.Contains(s.Describe(tc.err), want) {
					t.Errorf("%s: slack Describe = %q, want %q", tc.name, s.Describe(tc.err), want)
				}
			}
			continue
		}
		if got := w.Permanent(tc.err); got != tc.webhook {
			t.Errorf("%s: webhook Permanent = %v", tc.name, got)
		}
		for _, want := range tc.sentences {
			if !strings.Contains(w.Describe(tc.err), want) {
				t.Errorf("%s: webhook Describe = %q, want %q", tc.name, w.Describe(tc.err), want)
			}
		}
	}
}
