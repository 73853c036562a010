package e2e

import (
	"strings"
	"testing"
	"time"
)

// Tenant templates render within bounds. PUT refuses at once a template
// that exceeds one whatever the data; a stored template that exceeds one
// only for some recipient's data fails that recipient's deliveries with
// the reason, and the others deliver.
func TestTemplateBounds(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)

	rows := count(t, "SELECT count(*) FROM event_types WHERE tenant_id = $1", tn.id)
	for _, text := range []string{
		`{{range 3000}}{{range 3000}}{{printf "%09d" .}}{{end}}{{end}}`, // 61 bytes that took 258 MB a second
		`{{range 1000000000}}{{range 1000000000}}{{range 1000000000}}` + strings.Repeat("x", 4000) + `{{end}}{{end}}{{end}}`,
		`{{$x := "ab"}}` + strings.Repeat(`{{$x = print $x $x}}`, 60),
	} {
		start := time.Now()
		r := tn.do("PUT", "/v1/event-types/report.bomb", map[string]any{"category": "reports", "title": "Bomb", "templates": map[string]any{"text": text}})
		if r.status != 422 || r.errCode() != "invalid_template" || !strings.Contains(string(r.raw), "exceeded a bound") {
			t.Errorf("PUT %.40s…: %d %s", text, r.status, r.raw)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("PUT %.40s… took %v", text, took)
		}
	}
	if n := count(t, "SELECT count(*) FROM event_types WHERE tenant_id = $1", tn.id); n != rows {
		t.Errorf("refused templates stored %d rows", n-rows)
	}

	// Every row of the report names the recipient: 1,400 rows of a short
	// name are 4 KB, of a 200-character one 281 KB, past 256 KiB.
	tn.must(201, tn.do("PUT", "/v1/event-types/report.ready", map[string]any{"category": "reports", "title": "Report ready",
		"default_recipients": "named", "channels": []string{"in_app", "email"},
		"templates": map[string]any{"text": "{{range .data.rows}}{{$.user.name}} {{end}}"}}))
	tn.putUser("short", "short-bounds@example.com", "name", "Al")
	tn.putUser("long", "long-bounds@example.com", "name", strings.Repeat("L", 200))
	data := make([]int, 1400)
	acc := tn.postEvent(map[string]any{"type": "report.ready", "recipients": map[string]any{"users": []string{"short", "long"}},
		"data": map[string]any{"rows": data}})
	ev := tn.waitEvent(acc.EventID)
	waitFor(t, time.Minute, "every delivery to settle", func() bool {
		ev = tn.event(acc.EventID)
		for _, d := range ev.Deliveries {
			if d.Status == "pending" {
				return false
			}
		}
		return len(ev.Deliveries) == 4
	})
	if ev.Status != "partial" {
		t.Errorf("event status %s, want partial", ev.Status)
	}
	for _, d := range ev.Deliveries {
		switch d.UserID {
		case "short":
			if d.Status != "delivered" {
				t.Errorf("short's %s: %s %s", d.Channel, d.Status, d.Error)
			}
		case "long":
			if d.Status != "failed" || !strings.Contains(d.Error, "the text template exceeded a bound: it renders more than 256 KiB") {
				t.Errorf("long's %s: %s %q, want failed saying the template exceeded a bound", d.Channel, d.Status, d.Error)
			}
		}
	}
	if mail := mailFor(acc.EventID); len(mail) != 1 || mail[0].To[0] != "short-bounds@example.com" {
		t.Errorf("mail: %v", mail)
	}
}
