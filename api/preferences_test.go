package api

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/integrations"
	"github.com/heraldhq/herald/prefs"
)

// A user's endpoint gets its first secret with its first URL, a new one
// on rotate_secret (the old one signing beside it), keeps it otherwise,
// and drops it with the URL; a secret of the client's own is refused.
func TestWebhookSecretFor(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	url := "https://x.example/h"
	current := integrations.WebhookSecrets{Secret: "whsec_current"}
	hook := func(u *string, rotate bool, secret string) prefs.Channel {
		return prefs.Channel{URL: u, RotateSecret: rotate, Secret: secret}
	}
	got, fresh, err := webhookSecretFor(hook(&url, false, ""), integrations.WebhookSecrets{}, now)
	if err != nil || !strings.HasPrefix(fresh, "whsec_") || got.Secret != fresh || got.Previous != "" {
		t.Errorf("first URL: %+v %q %v", got, fresh, err)
	}
	got, fresh, err = webhookSecretFor(hook(&url, false, ""), current, now)
	if err != nil || fresh != "" || got != current {
		t.Errorf("same endpoint again: %+v %q %v", got, fresh, err)
	}
	got, fresh, err = webhookSecretFor(hook(&url, false, current.Secret), current, now)
	if err != nil || fresh != "" || got != current {
		t.Errorf("the current secret sent back: %+v %q %v", got, fresh, err)
	}
	got, fresh, err = webhookSecretFor(hook(&url, true, ""), current, now)
	if err != nil || fresh == "" || got.Secret != fresh || got.Previous != current.Secret || got.PreviousUntil != now.Add(integrations.RotationGrace).Unix() {
		t.Errorf("rotation: %+v %q %v", got, fresh, err)
	}
	got, fresh, err = webhookSecretFor(hook(nil, false, ""), current, now)
	if err != nil || fresh != "" || got.Secret != "" {
		t.Errorf("no URL: %+v %q %v", got, fresh, err)
	}
	for name, h := range map[string]prefs.Channel{
		"a secret of the client's own": hook(&url, false, "whsec_mine"),
		"rotate_secret without a URL":  hook(nil, true, ""),
	} {
		var e *Error
		if _, _, err := webhookSecretFor(h, current, now); !errors.As(err, &e) || e.Status != 400 {
			t.Errorf("%s: %v, want a 400", name, err)
		}
	}
}
