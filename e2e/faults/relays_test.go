package faults

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
)

// relayState is the worker's herald_smtp_relay_state for the relay at
// host, as /metrics shows it ("" when absent).
func relayState(t *testing.T, s *stack, host string) string {
	t.Helper()
	res, err := http.Get(s.herald.API.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "herald_smtp_relay_state{") && strings.Contains(line, `host="`+host+`"`) {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	return ""
}

// relayCounts counts an event's email rows by the relay they name.
func (tn *tenant) relayCounts(eventID string) map[string]int {
	tn.t.Helper()
	rows, err := tn.s.herald.Pool.Query(context.Background(), `SELECT COALESCE(relay, ''), count(*) FROM deliveries
		WHERE event_id = $1 AND channel = 'email' AND status = 'delivered' GROUP BY 1`, eventID)
	if err != nil {
		tn.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var relay string
		var n int
		if err := rows.Scan(&relay, &n); err != nil {
			tn.t.Fatal(err)
		}
		out[relay] = n
	}
	return out
}

// The first of two relays refuses connections: every email of a two-page
// event arrives once at the second, whose address its row names, and
// /metrics shows the first open. When the first comes back, it is used
// again once its cool-down has passed.
func TestRelayFailoverAndReturn(t *testing.T) {
	t.Parallel()
	first := deadAddr(t)
	second := relay(t, "127.0.0.1:0")
	const cooldown = 3 * time.Second
	s := startHerald(t, calm, localstack.HeraldOptions{
		SMTPURL: "smtp://" + first + "?tls=none, smtp://" + second.SMTPAddr() + "?tls=none",
		Env:     map[string]string{"HERALD_SMTP_COOLDOWN": cooldown.String()},
	})
	tn := s.tenant(t)
	const users = 600 // two pages
	tn.seed(users)

	acc := tn.post(projectUpdate("First relay away"))
	waitFor(t, 2*time.Minute, "every email at the second relay", func() bool { return len(copies(second, acc.EventID)) >= users })
	waitFor(t, 30*time.Second, "the event to be delivered", func() bool { return tn.eventStatus(acc.EventID) == "delivered" })
	onceEach(t, copies(second, acc.EventID), users)
	if got := tn.relayCounts(acc.EventID); got[second.SMTPAddr()] != users || len(got) != 1 {
		t.Errorf("delivered email rows by relay: %v, want all %d naming %s", got, users, second.SMTPAddr())
	}
	if st := relayState(t, s, first); st != "1" {
		t.Errorf("first relay's state on /metrics: %q, want 1 (open)", st)
	}
	if st := relayState(t, s, second.SMTPAddr()); st != "0" {
		t.Errorf("second relay's state on /metrics: %q, want 0 (closed)", st)
	}

	back := relay(t, first)
	time.Sleep(cooldown)
	acc2 := tn.post(projectUpdate("First relay back"))
	waitFor(t, 2*time.Minute, "every email at the first relay", func() bool { return len(copies(back, acc2.EventID)) >= users })
	waitFor(t, 30*time.Second, "the event to be delivered", func() bool { return tn.eventStatus(acc2.EventID) == "delivered" })
	onceEach(t, copies(back, acc2.EventID), users)
	if n := len(eventMail(second, acc2.EventID)); n != 0 {
		t.Errorf("the second relay caught %d emails of the event after the first came back, want 0", n)
	}
	if got := tn.relayCounts(acc2.EventID); got[first] != users {
		t.Errorf("delivered email rows by relay: %v, want all %d naming %s", got, users, first)
	}
	if st := relayState(t, s, first); st != "0" {
		t.Errorf("first relay's state on /metrics after its return: %q, want 0 (closed)", st)
	}
	// Nothing was sent to the relay that was away: the first event's
	// emails are not at it.
	if n := len(eventMail(back, acc.EventID)); n != 0 {
		t.Errorf("the first relay caught %d emails of the first event, want 0", n)
	}
}
