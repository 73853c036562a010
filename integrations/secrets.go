package integrations

import (
	"encoding/json"
	"errors"
	"time"
)

// Opener opens what was sealed for a purpose (seal.Sealer).
type Opener interface {
	Open(purpose, token string) ([]byte, error)
}

// Why sealed secrets could not be used. Callers say whose secret it was.
var (
	ErrNoKey      = errors.New("no HERALD_SIGNING_KEY to open it with")
	ErrUnopenable = errors.New("it cannot be opened (was HERALD_SIGNING_KEY changed?)")
	ErrUnreadable = errors.New("it is unreadable")
)

// Open opens sealed secrets of type T (WebhookSecrets, SlackSecrets, …);
// "" opens to the zero value. It is the one way secrets are opened, so
// where they are opened is easy to find and none is opened by hand.
func Open[T any](o Opener, purpose, sealed string) (T, error) {
	var v T
	if sealed == "" {
		return v, nil
	}
	if o == nil {
		return v, ErrNoKey
	}
	raw, err := o.Open(purpose, sealed)
	if err != nil {
		return v, ErrUnopenable
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, ErrUnreadable
	}
	return v, nil
}

// WebhookKeys opens an endpoint's sealed webhook secrets and returns the
// keys that sign a message sent at now. An endpoint without a secret has
// none to sign with: ErrUnreadable.
func WebhookKeys(o Opener, purpose, sealed string, now time.Time) ([]string, error) {
	s, err := Open[WebhookSecrets](o, purpose, sealed)
	if err != nil {
		return nil, err
	}
	if s.Secret == "" {
		return nil, ErrUnreadable
	}
	return s.SigningKeys(now), nil
}
