package activities

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"

	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/slackmsg"
)

// SlackSender posts to Slack: DMs to recipients with a Slack user ID (bot
// token, chat.postMessage to the user), and an event's posts to its routed
// channels (chat.postMessage with the bot token, or the tenant's incoming
// webhook when it has no bot token).
type SlackSender struct {
	// APIURL overrides Slack's Web API base URL (tests: slacktest).
	APIURL string
	// API calls Slack's Web API; Hooks posts to incoming-webhook URLs,
	// which tenants configure, so it must be SSRF-guarded.
	API, Hooks *http.Client
}

// Channel is slack.
func (s *SlackSender) Channel() channel.Channel { return channel.Slack }

// maxRateLimitWait bounds how long one attempt honours a 429's Retry-After
// before it leaves the post to the next attempt.
const maxRateLimitWait = 30 * time.Second

// Send posts each job's message, one at a time: Slack rate-limits per
// workspace and channel, so parallel posts would only meet 429s sooner.
// A channel post carries the event's own link; a DM to a recipient with a
// link of their own (an approver's) carries theirs, minted for that DM.
func (s *SlackSender) Send(ctx context.Context, ev *Event, jobs []Job, done func(int, []byte, string, error)) {
	shared, err := slackmsg.Build(ev.Type, ev.Render, ev.Data, ev.Row.Link, ev.Render.Sender(), catalog.Recipient{})
	if err != nil {
		for i := range jobs {
			done(i, nil, "", notRendered("building the Slack message", err))
		}
		return
	}
	sharedHash := slackHash(shared)
	secrets, err := integrationSecrets[integrations.SlackSecrets](ctx, ev, integrations.KindSlack)
	if err != nil {
		for i := range jobs {
			done(i, nil, "", err)
		}
		return
	}
	br := breakerOf(ctx)
	perReader := map[string]slackmsg.Message{}
	for i, j := range jobs {
		if ctx.Err() != nil {
			done(i, nil, "", ctx.Err())
			continue
		}
		msg, hash := shared, sharedHash
		if !integrations.EventLevel(j.Recipient.ID) {
			// A DM is written for its reader: their language, their zone.
			m, err := func() (slackmsg.Message, error) {
				if link, own := ev.linkFor(j.Recipient.ID); own {
					return slackmsg.BuildForApprover(ev.Type, ev.Render, ev.Data, link, ev.Render.Sender(), j.Recipient)
				}
				key := j.Recipient.Locale + "|" + j.Recipient.Timezone
				if m, ok := perReader[key]; ok {
					return m, nil
				}
				m, err := slackmsg.Build(ev.Type, ev.Render, ev.Data, ev.Row.Link, ev.Render.Sender(), j.Recipient)
				if err == nil {
					perReader[key] = m
				}
				return m, err
			}()
			if err != nil {
				done(i, nil, "", notRendered("building the Slack message", err))
				continue
			}
			msg, hash = m, slackHash(m)
		}
		endpoint := "api"
		if ch, _ := integrations.SlackChannelOf(j.Recipient.ID); ch == integrations.WebhookChannel {
			endpoint = "incoming-webhook"
		}
		if err := br.acquire(ctx, endpoint); err != nil {
			done(i, nil, "", err)
			continue
		}
		err := s.post(ctx, secrets, j, msg)
		br.record(endpoint, err)
		done(i, hash, "", err)
	}
}

// post sends one job's message, waiting out a rate limit if the attempt
// has the time.
func (s *SlackSender) post(ctx context.Context, secrets integrations.SlackSecrets, j Job, msg slackmsg.Message) error {
	for {
		err := s.postOnce(ctx, secrets, j, msg)
		var rl *slack.RateLimitedError
		if !errors.As(err, &rl) || rl.RetryAfter > maxRateLimitWait {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(rl.RetryAfter):
		}
	}
}

func (s *SlackSender) postOnce(ctx context.Context, secrets integrations.SlackSecrets, j Job, msg slackmsg.Message) (err error) {
	// A post whose request went out whole and whose answer never came (a
	// timeout, a connection reset) may be in the channel: Slack has no
	// idempotency key, so it is uncertain, never tried again by itself.
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(info httptrace.WroteRequestInfo) { wrote.Store(info.Err == nil) },
	})
	defer func(start time.Time) {
		var ue *url.Error
		if wrote.Load() && errors.As(err, &ue) {
			err = Uncertain(err)
		}
		metrics.Outbound.WithLabelValues("slack", metrics.Result(err)).Observe(time.Since(start).Seconds())
	}(time.Now())
	target := j.SlackUserID // a DM: chat.postMessage to the user opens it
	if integrations.EventLevel(j.Recipient.ID) {
		ch, ok := integrations.SlackChannelOf(j.Recipient.ID)
		if !ok {
			return Permanent(fmt.Errorf("%s is not a Slack target", j.Recipient.ID))
		}
		if ch == integrations.WebhookChannel {
			if secrets.WebhookURL == "" {
				return errNoSlack
			}
			// The URL is a credential: errors must not carry it to the log.
			return redactURL(slack.PostWebhookCustomHTTPContext(ctx, secrets.WebhookURL, s.Hooks,
				&slack.WebhookMessage{Text: msg.Text, Blocks: &slack.Blocks{BlockSet: msg.Blocks}}), "the Slack incoming webhook")
		}
		target = ch
	}
	if target == "" {
		return ErrNoAddress
	}
	if secrets.BotToken == "" {
		return errNoSlack
	}
	opts := []slack.Option{slack.OptionHTTPClient(s.API)}
	if s.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(s.APIURL))
	}
	_, _, err = slack.New(secrets.BotToken, opts...).PostMessageContext(ctx, target,
		slack.MsgOptionText(msg.Text, false), slack.MsgOptionBlocks(msg.Blocks...))
	return err
}

// redactURL replaces the URL in a transport error (and drops wrapping text
// that repeats it): endpoint URLs may carry credentials, and raw errors are
// logged.
func redactURL(err error, name string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: "(" + name + ")", Err: ue.Err}
	}
	return err
}

// errNoSlack: the integration changed since the post was planned.
var errNoSlack = Permanent(errors.New("the tenant's Slack integration no longer has the token or URL this post needs"))

func slackHash(m slackmsg.Message) []byte {
	b, _ := json.Marshal(m)
	h := sha256.Sum256(b)
	return h[:]
}

// permanentSlackErrors are Slack's answers no retry can change.
var permanentSlackErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "account_inactive": true, "token_revoked": true, "token_expired": true,
	"channel_not_found": true, "not_in_channel": true, "is_archived": true, "user_not_found": true,
	"cannot_dm_bot": true, "missing_scope": true, "invalid_blocks": true, "invalid_blocks_format": true,
	"msg_too_long": true, "no_text": true, "restricted_action": true, "ekm_access_denied": true,
}

// Permanent: Slack's permanent error codes, and an incoming webhook's 4xx
// other than 429 (the URL was revoked, or the channel archived).
func (s *SlackSender) Permanent(err error) bool {
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	switch {
	case isPermanent(err), errors.Is(err, netguard.ErrForbidden):
		return true
	case errors.As(err, &se):
		return permanentSlackErrors[se.Err]
	case errors.As(err, &sc):
		return sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusTooManyRequests && sc.Code != http.StatusRequestTimeout
	}
	return false
}

// Describe keeps Slack's error code, which tells an operator what to fix,
// and drops URLs and tokens.
func (s *SlackSender) Describe(err error) string {
	var se slack.SlackErrorResponse
	var sc slack.StatusCodeError
	var rl *slack.RateLimitedError
	var bound *catalog.BoundError
	switch {
	case errors.Is(err, netguard.ErrForbidden):
		return "the Slack webhook URL's address is private or reserved, and refused"
	case errors.Is(err, errNoSlack):
		return "the tenant's Slack integration no longer has the token or URL this post needs"
	case errors.Is(err, errRenderTimedOut):
		return errRenderTimedOut.Error()
	case errors.As(err, &bound):
		return "the Slack message could not be built: " + bound.Error()
	case isPermanent(err):
		return "the Slack message could not be built or the integration cannot be read"
	case errors.As(err, &se):
		return "Slack refused the message (" + se.Err + ")"
	case errors.As(err, &rl):
		return fmt.Sprintf("Slack rate-limited the message (retry after %v)", rl.RetryAfter)
	case errors.As(err, &sc):
		return fmt.Sprintf("Slack answered HTTP %d", sc.Code)
	case isUncertain(err):
		return "Slack did not answer after the message was sent; it may have been posted, so it is not posted again automatically"
	case errors.As(err, new(*notTriedError)):
		return "not tried in this attempt: Slack failed to answer several posts in a row"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		return "the attempt ended before the message was posted"
	}
	return "could not reach Slack"
}
