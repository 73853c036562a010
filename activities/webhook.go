package activities

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/db/dbq"
	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/internal/metrics"
	"github.com/heraldhq/herald/internal/netguard"
	"github.com/heraldhq/herald/stdwebhooks"
)

// WebhookSender posts signed events (Standard Webhooks) to the tenant's
// endpoint and to users' own endpoints.
type WebhookSender struct {
	// HTTP must be SSRF-guarded (endpoints are tenant and user input),
	// follow no redirects, and time out: a server that accepts and never
	// answers is an attempt that failed.
	HTTP *http.Client
	// PerHost bounds concurrent requests to one host, so one event to many
	// users of the same service does not flood it.
	PerHost int
}

// Channel is webhook.
func (s *WebhookSender) Channel() channel.Channel { return channel.Webhook }

// maxInFlight bounds one batch's concurrent requests across hosts.
const maxInFlight = 16

// StatusError is an endpoint's answer other than 2xx.
type StatusError struct{ Code int }

func (e *StatusError) Error() string { return fmt.Sprintf("the endpoint answered HTTP %d", e.Code) }

// errGone marks the tenant endpoint's 410: Herald stops sending to it.
var errGone = errors.New("the endpoint answered 410 Gone and is disabled")

// Send posts each job, concurrently up to PerHost per host. The tenant's
// endpoint is signed with the tenant's secrets; each user's own endpoint
// with that user's, so what a user receives never verifies at the
// tenant's endpoint.
func (s *WebhookSender) Send(ctx context.Context, ev *Event, jobs []Job, done func(int, []byte, string, error)) {
	// The tenant's secrets are opened once, and only for the tenant's
	// endpoint: users' endpoints need none of the tenant's.
	var tenantKeys []string
	var tenantErr error
	tenantOpened := false
	tenantSigning := func() ([]string, error) {
		if !tenantOpened {
			tenantOpened = true
			var secrets integrations.WebhookSecrets
			if secrets, tenantErr = integrationSecrets[integrations.WebhookSecrets](ctx, ev, integrations.KindWebhook); tenantErr == nil {
				tenantKeys = secrets.SigningKeys(time.Now())
			}
		}
		return tenantKeys, tenantErr
	}
	perHost := max(s.PerHost, 1)
	br := breakerOf(ctx)
	var mu sync.Mutex
	hosts := map[string]chan struct{}{}
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	for i, j := range jobs {
		target, userID := j.WebhookURL, j.Recipient.ID
		var signWith []string
		var err error
		if integrations.EventLevel(j.Recipient.ID) {
			if ev.Webhook == nil || ev.Webhook.URL == "" || ev.Webhook.Disabled {
				done(i, nil, "", Permanent(errors.New("the tenant's webhook endpoint was removed or disabled since the event was planned")))
				continue
			}
			target, userID = ev.Webhook.URL, ""
			signWith, err = tenantSigning()
		} else if target != "" {
			signWith, err = ev.userWebhookKeys(j, time.Now())
		}
		if target == "" {
			done(i, nil, "", ErrNoAddress)
			continue
		}
		if err != nil {
			done(i, nil, "", err)
			continue
		}
		u, err := url.Parse(target)
		if err != nil {
			done(i, nil, "", Permanent(fmt.Errorf("the endpoint URL is invalid")))
			continue
		}
		mu.Lock()
		host := hosts[u.Host]
		if host == nil {
			host = make(chan struct{}, perHost)
			hosts[u.Host] = host
		}
		mu.Unlock()
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			done(i, nil, "", ctx.Err())
			continue
		}
		select {
		case host <- struct{}{}:
		case <-ctx.Done():
			<-slots
			done(i, nil, "", ctx.Err())
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-host; <-slots }()
			if err := br.acquire(ctx, u.Host); err != nil {
				done(i, nil, "", err)
				return
			}
			hash, err := s.post(ctx, ev, j, target, userID, signWith)
			br.record(u.Host, err)
			if errors.Is(err, errGone) && integrations.EventLevel(j.Recipient.ID) {
				s.disable(ev)
			}
			done(i, hash, "", err)
		}()
	}
	wg.Wait()
}

func (s *WebhookSender) post(ctx context.Context, ev *Event, j Job, target, userID string, secrets []string) ([]byte, error) {
	body, err := json.Marshal(integrations.WebhookPayload{EventID: ev.Row.ID.String(), EventType: ev.Type.Key, Timestamp: ev.Row.CreatedAt.UTC(),
		UserID: userID, Data: json.RawMessage(ev.Row.Data)})
	if err != nil {
		return nil, Permanent(err)
	}
	// The same webhook-id on every attempt of one delivery, so receivers
	// can drop a message they already processed.
	start := time.Now()
	code, err := stdwebhooks.Post(ctx, s.HTTP, target, "msg_"+j.DeliveryID.String(), secrets, body)
	ok := err == nil && code >= 200 && code < 300
	metrics.Outbound.WithLabelValues("webhook", map[bool]string{true: "ok", false: "error"}[ok]).Observe(time.Since(start).Seconds())
	switch {
	case errors.Is(err, stdwebhooks.ErrBadURL) || errors.Is(err, stdwebhooks.ErrBadSecret):
		return nil, Permanent(err)
	case err != nil:
		return nil, redactURL(err, "the webhook endpoint")
	case ok:
		h := sha256.Sum256(body)
		return h[:], nil
	case code == http.StatusGone:
		return nil, fmt.Errorf("%w: %w", errGone, &StatusError{code})
	}
	return nil, &StatusError{code}
}

// userWebhookKeys are the secrets that sign a message to the user's own
// endpoint: theirs alone. An endpoint without one (set before users'
// endpoints had their own) is not reachable until the user sets it again.
func (ev *Event) userWebhookKeys(j Job, now time.Time) ([]string, error) {
	if j.WebhookSecrets == "" {
		return nil, ErrNoAddress
	}
	keys, err := integrations.WebhookKeys(ev.a.opener(), integrations.UserWebhookSealPurpose(ev.Row.TenantID, j.Recipient.ID), j.WebhookSecrets, now)
	switch {
	case errors.Is(err, integrations.ErrNoKey):
		return nil, fmt.Errorf("this worker cannot open the user's webhook secret: %w", err)
	case err != nil:
		return nil, Permanent(fmt.Errorf("the user's webhook secret: %w", err))
	}
	return keys, nil
}

// disable stops sending to a tenant endpoint that answered 410 Gone, until
// the tenant sets it again. Failing to record it only costs more 410s.
func (s *WebhookSender) disable(ev *Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = ev.a.q().DisableIntegration(ctx, dbq.DisableIntegrationParams{TenantID: ev.Row.TenantID, Kind: integrations.KindWebhook,
		Reason: "the endpoint answered 410 Gone"})
}

// Permanent: only 408, 429 and 5xx (and network failures) are worth
// retrying; any other answer, redirects included (they are not followed),
// fails at once.
func (s *WebhookSender) Permanent(err error) bool {
	var se *StatusError
	if isPermanent(err) || errors.Is(err, netguard.ErrForbidden) {
		return true
	}
	if errors.As(err, &se) {
		return !stdwebhooks.Retryable(se.Code)
	}
	return false
}

// Describe names the status an endpoint answered, never its URL.
func (s *WebhookSender) Describe(err error) string {
	var se *StatusError
	switch {
	case errors.Is(err, errGone):
		return "the endpoint answered 410 Gone; it is disabled until the webhook is set again"
	case errors.Is(err, netguard.ErrForbidden):
		return "the endpoint's address is private or reserved, and refused"
	case isPermanent(err):
		return "the webhook could not be built or its endpoint is not configured"
	case errors.As(err, &se) && se.Code >= 300 && se.Code < 400:
		return fmt.Sprintf("the endpoint answered a redirect (HTTP %d), which is not followed", se.Code)
	case errors.As(err, &se):
		return fmt.Sprintf("the endpoint answered HTTP %d", se.Code)
	case errors.As(err, new(*notTriedError)):
		return "not tried in this attempt: the endpoint failed to answer several requests in a row"
	case errors.Is(err, context.DeadlineExceeded):
		return "the endpoint did not answer in time"
	case errors.Is(err, context.Canceled):
		return "the attempt ended before the webhook was sent"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return "the endpoint did not answer in time"
	}
	return "could not reach the endpoint"
}
