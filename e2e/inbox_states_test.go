package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestInboxSeenArchivedSnoozed(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tn.putUser("ib", "ib@example.com")
	var ids []string
	for i := range 4 {
		acc := tn.postEvent(map[string]any{"type": "issue.assigned", "recipients": map[string]any{"users": []string{"ib"}}, "data": map[string]any{"issue_key": fmt.Sprint("IB-", i)}})
		tn.waitSettled(acc.EventID, 30*time.Second)
	}
	inbox := func(query string) []inboxItem {
		return decodeAs[listPage[inboxItem]](t, tn.must(200, tn.do("GET", "/v1/users/ib/notifications"+query, nil))).Data
	}
	counts := func() countView {
		return decodeAs[countView](t, tn.must(200, tn.do("GET", "/v1/users/ib/notifications/unread_count", nil)))
	}
	for _, n := range inbox("") {
		ids = append(ids, n.ID)
	}
	if len(ids) != 4 || counts() != (countView{Count: 4, Unseen: 4}) {
		t.Fatalf("%d items, counts %+v; want 4 unseen unread", len(ids), counts())
	}
	// Opening the bell: every item seen, none read.
	tn.must(200, tn.do("POST", "/v1/users/ib/notifications/mark_all_seen", nil))
	if c := counts(); c != (countView{Count: 4, Unseen: 0}) || len(inbox("?status=unseen")) != 0 {
		t.Errorf("after mark_all_seen: %+v", c)
	}
	// Read one, archive it; mark another unseen again.
	item := decodeAs[inboxItem](t, tn.must(200, tn.do("PATCH", "/v1/users/ib/notifications/"+ids[0], map[string]any{"read": true, "archived": true})))
	if !item.Read || !item.Archived || !item.Seen {
		t.Errorf("PATCH read+archived answered %+v", item)
	}
	tn.must(200, tn.do("PATCH", "/v1/users/ib/notifications/"+ids[1], map[string]any{"seen": false}))
	if got := len(inbox("")); got != 3 {
		t.Errorf("the inbox lists %d items, want 3 (one archived)", got)
	}
	if a := inbox("?status=archived"); len(a) != 1 || a[0].ID != ids[0] {
		t.Errorf("the archive lists %+v", a)
	}
	if c := counts(); c != (countView{Count: 3, Unseen: 1}) {
		t.Errorf("counts %+v, want 3 unread and 1 unseen", c)
	}
	// Snooze: gone from the inbox and its counts until then, back unread.
	until := time.Now().Add(time.Hour)
	item = decodeAs[inboxItem](t, tn.must(200, tn.do("POST", "/v1/users/ib/notifications/"+ids[2]+"/snooze", map[string]any{"until": until})))
	if item.SnoozedUntil == nil || item.Read {
		t.Errorf("snooze answered %+v", item)
	}
	if got := len(inbox("")); got != 2 {
		t.Errorf("the inbox lists %d items with one snoozed, want 2", got)
	}
	if _, err := env.pool.Exec(context.Background(), `UPDATE notifications SET snoozed_until = now() - interval '1 second' WHERE id = $1`, ids[2]); err != nil {
		t.Fatal(err)
	}
	if got := len(inbox("?status=unread")); got != 3 {
		t.Errorf("after the snooze ended: %d unread in the inbox, want 3", got)
	}
	// Read what is left, then archive everything read.
	tn.must(200, tn.do("POST", "/v1/users/ib/notifications/mark_all_read", nil))
	archived := decodeAs[map[string]int](t, tn.must(200, tn.do("POST", "/v1/users/ib/notifications/archive_all_read", nil)))
	if archived["archived"] != 3 || len(inbox("")) != 0 || counts() != (countView{}) {
		t.Errorf("archive_all_read: %v; inbox %d items, counts %+v", archived, len(inbox("")), counts())
	}
	for path, body := range map[string]any{
		"/v1/users/ib/notifications/" + ids[0] + "/snooze": map[string]any{"until": time.Now().Add(-time.Hour)},
		"/v1/users/ib/notifications/" + ids[0]:             map[string]any{},
	} {
		method := "POST"
		if body != nil && len(body.(map[string]any)) == 0 {
			method = "PATCH"
		}
		if r := tn.do(method, path, body); r.status != 400 {
			t.Errorf("%s %s %v: %d %s, want 400", method, path, body, r.status, r.raw)
		}
	}
	if r := tn.do("GET", "/v1/users/ib/notifications?status=hidden", nil); r.status != 400 {
		t.Errorf("unknown status: %d", r.status)
	}
}
