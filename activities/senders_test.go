package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/internal/mailer"
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

func TestEmailErrorClasses(t *testing.T) {
	s := &EmailSender{}
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		sentence  string
	}{
		{"rcpt 550", &mailer.SMTPError{Stage: "rcpt", Code: 550, Enhanced: "5.1.1", Err: errors.New("550 5.1.1 no such user")}, true, "refused the message (SMTP 550 5.1.1)"},
		{"final 451", &mailer.SMTPError{Stage: "final", Code: 451, Enhanced: "4.7.1", Err: errors.New("451 4.7.1 busy")}, false, "deferred the message (SMTP 451 4.7.1)"},
		{"final 421", &mailer.SMTPError{Stage: "final", Code: 421, Err: errors.New("421 closing")}, false, "deferred the message (SMTP 421)"},
		{"session 530", &mailer.SMTPError{Stage: "mail", Code: 530, Err: errors.New("530 auth required")}, false, "deferred the message (SMTP 530)"},
		{"broken before data", &mailer.SMTPError{Stage: "data", Err: io.EOF}, false, "broke before the message was sent"},
		// Not permanent: Send hands it to Deliver as uncertain, which fails
		// it with that reason and never sends it again by itself.
		{"no final reply", fmt.Errorf("send: %w", &mailer.SMTPError{Stage: "final", Err: io.EOF}), false, "it may have been delivered, so it is not sent again automatically"},
		{"closed", mailer.ErrClosed, false, "could not reach the mail server"},
		{"deadline", context.DeadlineExceeded, false, "ended before the message was sent"},
	} {
		if got := s.Permanent(tc.err); got != tc.permanent {
			t.Errorf("%s: Permanent = %v, want %v", tc.name, got, tc.permanent)
		}
		if got := s.Describe(tc.err); !strings.Contains(got, tc.sentence) {
			t.Errorf("%s: Describe = %q, want %q", tc.name, got, tc.sentence)
		}
	}
}

// A template that exceeds a bound of rendering for one recipient's data
// fails that delivery saying which bound; other template errors are not
// quoted, as they may carry the data.
func TestRenderFailuresNameTheBound(t *testing.T) {
	bound := &catalog.BoundError{Template: "text", Bound: catalog.BoundOutput, Detail: "it renders more than 256 KiB (at most 256 KiB per part)"}
	const want = "the text template exceeded a bound: it renders more than 256 KiB"
	if got := (&EmailSender{}).Describe(notRendered("rendering the email", bound)); !strings.Contains(got, want) {
		t.Errorf("email Describe = %q", got)
	}
	if got := (&SlackSender{}).Describe(notRendered("building the Slack message", bound)); !strings.Contains(got, want) {
		t.Errorf("slack Describe = %q", got)
	}
	// Out of time is the one bound a busy machine decides: the message is
	// not failed but waits for its next try, and the log says so.
	slow := &catalog.BoundError{Template: "text", Bound: catalog.BoundTime, Detail: "it took longer than 100ms to render"}
	for _, s := range []Sender{&EmailSender{}, &SlackSender{}} {
		err := notRendered("rendering", slow)
		if isPermanent(err) || s.Permanent(err) || isUncertain(err) {
			t.Errorf("%T: a render out of time is final: %v", s, err)
		}
		if got := s.Describe(err); !strings.Contains(got, "tried again later") {
			t.Errorf("%T Describe = %q", s, got)
		}
	}
	if !isPermanent(notRendered("rendering", bound)) {
		t.Error("a render past the output bound is not final")
	}
	if got := renderFailure(fmt.Errorf("template: text: %w", bound)); !strings.Contains(got, want) {
		t.Errorf("in-app failure = %q", got)
	}
	if got := renderFailure(errors.New(`template: text:1: secret data "x"`)); got != errRenderInApp {
		t.Errorf("in-app failure = %q", got)
	}
}
