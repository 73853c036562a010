package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"
)

// slackRecorder stands in for chat.postMessage on the slacktest server,
// keeping every post so tests can read the blocks Slack would have got.
// Channels named for a behaviour answer with it: "#notfound-…" with
// channel_not_found, "#ratelimited-…" with a 429 (Retry-After 1) once,
// "#flaky-…" with a 500 once (Slack down for a moment: the post waits for
// its next try).
var slackRecorder = &recorder{limited: map[string]bool{}, failed: map[string]bool{}}

type recorder struct {
	mu      sync.Mutex
	posts   []slack.Message
	limited map[string]bool
	failed  map[string]bool
}

func (r *recorder) bind(c slacktest.Customize) { c.Handle("/chat.postMessage", r.postMessage) }

func (r *recorder) postMessage(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	form, _ := url.ParseQuery(string(body))
	ch := form.Get("channel")
	w.Header().Set("Content-Type", "application/json")
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case strings.HasPrefix(ch, "#notfound"):
		_, _ = w.Write([]byte(`{"ok":false,"error":"channel_not_found"}`))
		return
	case strings.HasPrefix(ch, "#ratelimited") && !r.limited[ch]:
		r.limited[ch] = true
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		return
	case strings.HasPrefix(ch, "#flaky") && !r.failed[ch]:
		r.failed[ch] = true
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	m := slack.Message{}
	m.Channel, m.Text = ch, form.Get("text")
	if b := form.Get("blocks"); b != "" {
		_ = json.Unmarshal([]byte(b), &m.Blocks)
	}
	r.posts = append(r.posts, m)
	_, _ = w.Write([]byte(`{"ok":true,"channel":"` + ch + `","ts":"1.0"}`))
}

// slackPosts returns the messages posted to channel.
func slackPosts(channel string) []slack.Message {
	slackRecorder.mu.Lock()
	defer slackRecorder.mu.Unlock()
	var out []slack.Message
	for _, m := range slackRecorder.posts {
		if m.Channel == channel {
			out = append(out, m)
		}
	}
	return out
}
