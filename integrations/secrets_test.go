package integrations_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/seal"
)

func TestWebhookKeysOpenOnlyWithTheirKeyAndPurpose(t *testing.T) {
	s, err := seal.New(strings.Repeat("k", 32))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := seal.New(strings.Repeat("o", 32))
	now := time.Now()
	raw, _ := json.Marshal(integrations.WebhookSecrets{Secret: "whsec_new", Previous: "whsec_old", PreviousUntil: now.Add(time.Hour).Unix()})
	sealed := s.Seal("webhook/t1", raw)

	keys, err := integrations.WebhookKeys(s, "webhook/t1", sealed, now)
	if err != nil || !slices.Equal(keys, []string{"whsec_new", "whsec_old"}) {
		t.Fatalf("within the rotation grace: %v, %v; want both secrets", keys, err)
	}
	if keys, _ := integrations.WebhookKeys(s, "webhook/t1", sealed, now.Add(2*time.Hour)); !slices.Equal(keys, []string{"whsec_new"}) {
		t.Errorf("after the grace: %v, want the new secret only", keys)
	}
	for name, tc := range map[string]struct {
		o       integrations.Opener
		purpose string
		sealed  string
		want    error
	}{
		"another signing key": {other, "webhook/t1", sealed, integrations.ErrUnopenable},
		"another purpose":     {s, "webhook/t2", sealed, integrations.ErrUnopenable},
		"no signing key":      {nil, "webhook/t1", sealed, integrations.ErrNoKey},
		"not JSON":            {s, "webhook/t1", s.Seal("webhook/t1", []byte("{")), integrations.ErrUnreadable},
		"no secret in it":     {s, "webhook/t1", s.Seal("webhook/t1", []byte("{}")), integrations.ErrUnreadable},
		"nothing sealed":      {s, "webhook/t1", "", integrations.ErrUnreadable},
	} {
		if _, err := integrations.WebhookKeys(tc.o, tc.purpose, tc.sealed, now); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
}
