package prefs

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/heraldhq/herald/channel"
	"github.com/heraldhq/herald/digest"
)

// frequencyKey is the one key of a category's settings that is not a
// channel: no channel can be named so.
const frequencyKey = "frequency"

// Category is one category's settings: on or off per channel, and the
// frequency its email and Slack DMs go out at, which lets a user digest a
// low-priority category and get the others at once on the same channel.
// In JSON it is one object, the channels' flags beside "frequency":
// {"email": true, "frequency": "daily"}.
type Category struct {
	Channels  map[string]bool
	Frequency Frequency
}

// Frequency is a category's cadence: one for every channel that has one
// ("daily"), or one per channel ({"email": "daily", "slack": "immediate"}).
// The zero value sets nothing.
type Frequency struct {
	All       digest.Frequency
	ByChannel map[string]digest.Frequency
}

// IsZero reports whether f sets nothing, so a lower layer decides.
func (f Frequency) IsZero() bool { return f.All == "" && len(f.ByChannel) == 0 }

// On is the frequency f sets on ch, or "": always "" on a channel that
// has no frequency.
func (f Frequency) On(ch channel.Channel) digest.Frequency {
	if !hasFrequency(string(ch)) {
		return ""
	}
	if v, ok := f.ByChannel[string(ch)]; ok {
		return v
	}
	return f.All
}

// MarshalJSON writes the form it was given: a string, or an object per channel.
func (f Frequency) MarshalJSON() ([]byte, error) {
	if len(f.ByChannel) > 0 {
		return json.Marshal(f.ByChannel)
	}
	return json.Marshal(f.All)
}

// UnmarshalJSON reads either form; null sets nothing.
func (f *Frequency) UnmarshalJSON(b []byte) error {
	*f = Frequency{}
	switch t := bytes.TrimSpace(b); {
	case bytes.Equal(t, []byte("null")):
		return nil
	case len(t) > 0 && t[0] == '"':
		return json.Unmarshal(t, &f.All)
	case len(t) > 0 && t[0] == '{':
		return json.Unmarshal(t, &f.ByChannel)
	}
	return fmt.Errorf("frequency: want a string such as \"daily\" or an object per channel such as {\"email\": \"daily\"}")
}

// MarshalJSON writes the channels' flags and, when set, the frequency.
func (c Category) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(c.Channels)+1)
	for ch, on := range c.Channels {
		m[ch] = on
	}
	if !c.Frequency.IsZero() {
		m[frequencyKey] = c.Frequency
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads the object: "frequency", and a flag per channel.
// Unknown channels are read as flags, for Validate to name.
func (c *Category) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c = Category{}
	for key, v := range raw {
		if key == frequencyKey {
			if err := json.Unmarshal(v, &c.Frequency); err != nil {
				return err
			}
			continue
		}
		var on bool
		if err := json.Unmarshal(v, &on); err != nil {
			return fmt.Errorf("%s: want true or false", key)
		}
		if c.Channels == nil {
			c.Channels = map[string]bool{}
		}
		c.Channels[key] = on
	}
	return nil
}

// validFrequency names what is wrong with a frequency, or returns "".
func validFrequency(f digest.Frequency) string {
	switch f {
	case "", digest.Immediate, digest.Hourly, digest.Daily, digest.Weekly:
		return ""
	}
	return "want immediate, hourly, daily or weekly"
}

// hasFrequency reports whether ch's deliveries can wait for a digest.
func hasFrequency(ch string) bool {
	return ch == string(channel.Email) || ch == string(channel.Slack)
}

func (c Category) validate(field string) *FieldError {
	for _, ch := range sortedKeys(c.Channels) {
		if channel.Channel(ch).ComingSoon() {
			return notAvailable(field+"."+ch, channel.Channel(ch))
		}
		if !channel.Channel(ch).Valid() {
			return fieldErr(field+"."+ch, "unknown channel; want in_app, email, slack or webhook")
		}
	}
	f := field + "." + frequencyKey
	if e := validFrequency(c.Frequency.All); e != "" {
		return fieldErr(f, "%s", e)
	}
	for _, ch := range sortedKeys(c.Frequency.ByChannel) {
		if !hasFrequency(ch) {
			return fieldErr(f+"."+ch, "only email and slack have a frequency")
		}
		if e := validFrequency(c.Frequency.ByChannel[ch]); e != "" {
			return fieldErr(f+"."+ch, "%s", e)
		}
	}
	return nil
}
