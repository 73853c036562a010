// Package stdwebhooks signs outbound webhooks as the Standard Webhooks
// specification says (https://www.standardwebhooks.com), so receivers can
// verify them with any of its libraries.
package stdwebhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

const secretPrefix = "whsec_"

// secretBytes is the secret's entropy: the spec asks for 24 to 64 bytes.
const secretBytes = 32

// Header names of the spec.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// NewSecret returns a fresh signing secret: "whsec_" and base64 of 32
// random bytes.
func NewSecret() string {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		panic("stdwebhooks: no randomness: " + err.Error())
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ErrBadSecret is a secret that is not "whsec_" and base64.
var ErrBadSecret = errors.New("a webhook secret is whsec_ followed by base64")

func key(secret string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || len(k) == 0 {
		return nil, ErrBadSecret
	}
	return k, nil
}

// Sign returns the v1 signature of one message, made by the Standard
// Webhooks library itself so sender and receivers cannot disagree.
func Sign(secret, id string, at time.Time, body []byte) (string, error) {
	k, err := key(secret)
	if err != nil {
		return "", err
	}
	wh, err := standardwebhooks.NewWebhookRaw(k)
	if err != nil {
		return "", err
	}
	return wh.Sign(id, at, body)
}

// Headers sets the spec's headers of one message on h, with one signature
// per secret: during a rotation both the new and the old secret sign, so
// receivers verify with either.
func Headers(h http.Header, secrets []string, id string, at time.Time, body []byte) error {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, id, at, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	h.Set(HeaderSignature, strings.Join(sigs, " "))
	return nil
}

// ResponseLimit is how much of a receiver's answer is read: its body means
// nothing to the sender, but reading a little lets the connection be reused.
const ResponseLimit = 4 << 10

// ErrBadURL is a target that is not a valid URL.
var ErrBadURL = errors.New("the endpoint URL is invalid")

// Post sends one signed message: body as JSON to target, with the spec's
// headers signed by each of secrets. id must be the same on every attempt
// of one message, so receivers drop a repeat. It answers the receiver's
// status code; what a code means is the caller's to decide (Retryable is
// the spec's advice). A transport error is returned as the client gave it,
// so callers can tell a refused dial from an unanswered request; it may
// name the URL, which callers must not show.
func Post(ctx context.Context, client *http.Client, target, id string, secrets []string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, ErrBadURL
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Herald-Webhooks/1")
	if err := Headers(req.Header, secrets, id, time.Now(), body); err != nil {
		return 0, err
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, ResponseLimit))
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// Retryable says whether an answer is worth sending again: 408, 429 and
// 5xx. Any other non-2xx answer, redirects included (they are not
// followed), will be the same next time.
func Retryable(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500
}
