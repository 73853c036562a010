package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/personal"
	"github.com/heraldhq/herald/seal"
)

// credentialMarks are what a personal credential looks like in a message:
// an approver's link, a one-click unsubscribe link, an inbox token.
var credentialMarks = []string{"/a/", "/unsubscribe/", "decision=approve", "token="}

func leaks(s string) string {
	for _, m := range credentialMarks {
		if strings.Contains(s, m) {
			return m
		}
	}
	return ""
}

// TestPersonalLinksStayPersonal: an approval reaches a tenant whose Slack
// routes take every event (no purposes, "*", the approvals category) and
// whose webhook takes every event. The channel posts and the webhook carry
// the request without anyone's link; each approver's email, Slack DM and
// in-app item (listed and streamed) carry their own, which still decides;
// the executive, alerted once the top level is asked, gets a link of their
// own; and no link token is stored in events or inbox rows.
func TestPersonalLinksStayPersonal(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	addr := approvalUsers(tn)
	sfx := tn.id.String()[:8]
	hook := newHookServer(t)
	tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": hook.URL}))
	routes := []string{"#all-" + sfx, "#star-" + sfx, "#appr-" + sfx}
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e", "routes": []map[string]any{
		{"channel": routes[0]}, {"channel": routes[1], "purposes": []string{"*"}}, {"channel": routes[2], "purposes": []string{"approvals"}}}}))
	adaDM, exeDM := "UP"+strings.ToUpper(sfx), "UX"+strings.ToUpper(sfx)
	tn.putUser("ada", addr["ada"], "slack_user_id", adaDM)
	tn.putUser("exe", addr["exe"], "role", "executive", "slack_user_id", exeDM)
	stream := openStream(t, tn.base, "ada", tn.inboxToken("ada"), "")

	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("pl-1",
		"levels", []any{map[string]any{"approvers": []string{"ada", "bob"}, "timeout": "24h"}})))
	link := approvalLink(t, addr["ada"])
	if bob := approvalLink(t, addr["bob"]); bob == link {
		t.Fatal("two approvers got the same link")
	}

	// Every route posts both approvers' requests.
	for _, ch := range routes {
		waitFor(t, time.Minute, "the requests posted to "+ch, func() bool { return len(slackPosts(ch)) >= 2 })
	}
	waitFor(t, time.Minute, "the requests at the tenant webhook", func() bool { return len(hook.calls()) >= 2 })
	checkShared := func() {
		t.Helper()
		for _, ch := range routes {
			for _, p := range slackPosts(ch) {
				blocks, _ := json.Marshal(p.Blocks)
				if m := leaks(p.Text + string(blocks)); m != "" {
					t.Fatalf("a post to the channel %s carries a personal credential (%s): %s %s", ch, m, p.Text, blocks)
				}
			}
		}
		for _, c := range hook.calls() {
			if m := leaks(string(c.body)); m != "" {
				t.Fatalf("the tenant webhook got a personal credential (%s): %s", m, c.body)
			}
		}
	}
	checkShared()
	// The channel still links to the request itself.
	if blocks, _ := json.Marshal(slackPosts(routes[2])[0].Blocks); !strings.Contains(string(blocks), "https://app.example/po/pl-1") {
		t.Errorf("the channel post lost the request's own link: %s", blocks)
	}

	// Ada's own channels carry her link: the DM's buttons, the in-app item
	// as listed and as streamed.
	waitFor(t, time.Minute, "ada's Slack DM", func() bool { return len(slackPosts(adaDM)) == 1 })
	if blocks, _ := json.Marshal(slackPosts(adaDM)[0].Blocks); !strings.Contains(string(blocks), link+"?decision=approve") {
		t.Errorf("ada's DM lacks her link: %s", blocks)
	}
	var item inboxItem
	if err := json.Unmarshal([]byte(stream.next("notification", 30*time.Second).data), &item); err != nil {
		t.Fatal(err)
	}
	if item.Link != link {
		t.Errorf("ada's streamed item links %q, want her link %q", item.Link, link)
	}
	if page, _ := tn.inbox("ada"); len(page.Data) != 1 || page.Data[0].Link != link {
		t.Errorf("ada's inbox %+v, want one item with her link", page.Data)
	}
	if page, _ := tn.inbox("bob"); len(page.Data) != 1 || page.Data[0].Link == link || !strings.Contains(page.Data[0].Link, "/a/") {
		t.Errorf("bob's inbox %+v, want his own link", page.Data)
	}

	// The executive is alerted with a link of their own, which opens the page.
	waitFor(t, time.Minute, "the executive's alert", func() bool { return len(mailOfType(addr["exe"], "approval.executive_alert")) == 1 })
	exeLink := approvalLinkPattern.FindString(mailOfType(addr["exe"], "approval.executive_alert")[0].Text)
	if exeLink == "" || exeLink == link {
		t.Fatalf("the executive's alert links %q", exeLink)
	}
	waitFor(t, time.Minute, "the executive's DM", func() bool { return len(slackPosts(exeDM)) == 1 })
	if blocks, _ := json.Marshal(slackPosts(exeDM)[0].Blocks); !strings.Contains(string(blocks), exeLink+"?decision=approve") {
		t.Errorf("the executive's DM lacks their link: %s", blocks)
	}
	if p := getPage(t, exeLink); p.status != 200 || !strings.Contains(p.body, `value="approve"`) {
		t.Errorf("the executive's link: %d %s", p.status, p.body)
	}
	for _, ch := range routes {
		waitFor(t, time.Minute, "the executive alert posted to "+ch, func() bool { return len(slackPosts(ch)) >= 3 })
	}
	waitFor(t, time.Minute, "the executive alert at the tenant webhook", func() bool { return len(hook.calls()) >= 3 })
	checkShared()

	// Nothing stored holds a token: events keep the request's own link,
	// inbox rows theirs.
	for _, q := range []string{
		"SELECT count(*) FROM events WHERE tenant_id = $1 AND (link LIKE '%/a/%' OR data::text LIKE '%/a/%')",
		"SELECT count(*) FROM notifications WHERE tenant_id = $1 AND (link LIKE '%/a/%' OR title LIKE '%/a/%' OR body LIKE '%/a/%')",
	} {
		if n := count(t, q, tn.id); n != 0 {
			t.Errorf("%d rows hold a link token: %s", n, q)
		}
	}
	if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1 AND type LIKE 'approval.%' AND link = 'https://app.example/po/pl-1'", tn.id); n != 3 {
		t.Errorf("%d approval events keep the request's link, want 3", n)
	}

	// Nor does any workflow's history: the notices' runs carry IDs only.
	rows, err := env.pool.Query(context.Background(), "SELECT workflow_id FROM events WHERE tenant_id = $1 AND type LIKE 'approval.%'", tn.id)
	if err != nil {
		t.Fatal(err)
	}
	wids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, wid := range append(wids, contract.ApprovalWorkflowID(tn.id, "pl-1")) {
		iter := env.temporal.GetWorkflowHistory(context.Background(), wid, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for iter.HasNext() {
			ev, err := iter.Next()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(ev.String(), "/a/") {
				t.Fatalf("a link token is in the history of %s (event %d)", wid, ev.GetEventId())
			}
		}
	}

	// Ada's emailed link still decides.
	if p := postPage(t, link, "approve", "from the email"); p.status != 200 {
		t.Fatalf("ada's emailed link: %d %s", p.status, p.body)
	}
	if v := tn.approval("pl-1"); v.Status != "approved" || v.DecidedBy == nil || *v.DecidedBy != "ada" {
		t.Fatalf("after ada's POST: %+v", v)
	}
	waitApprovalDone(t, contract.ApprovalWorkflowID(tn.id, "pl-1"))
	recordHistory(t, contract.ApprovalWorkflowID(tn.id, "pl-1"), "approval_executive_alerted")
}

// TestMigrationDescribesStoredApproverLinks: approval notices stored by an
// earlier release, with the approver's link in events.link and copied to
// the inbox item, are rewritten by the migration to describe the link and
// keep the approval's own; the link minted from the description is the one
// that was emailed.
func TestMigrationDescribesStoredApproverLinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := "mig_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	// The owner makes databases; the service role (env.pool) cannot.
	if _, err := env.owner.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(env.servers.Postgres.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Database = name
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close(ctx)
		_, _ = env.owner.Exec(ctx, "DROP DATABASE "+name)
	})
	m, err := migrate.NewMigrator(ctx, conn, "herald_schema_version")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadMigrations(os.DirFS("../db/migrations")); err != nil {
		t.Fatal(err)
	}
	var ours int32
	for _, mg := range m.Migrations {
		if strings.HasSuffix(mg.Name, "_personal_links.sql") {
			ours = mg.Sequence
		}
	}
	if ours == 0 {
		t.Fatal("no personal_links migration")
	}
	if err := m.MigrateTo(ctx, ours-1); err != nil {
		t.Fatal(err)
	}

	tenant, event, delivery := uuid.New(), uuid.New(), uuid.New()
	expires := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	s, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	minter := personal.Minter{Seal: s, PublicURL: "https://herald.example"}
	old := minter.For(tenant, &personal.Link{Kind: personal.KindApproval, ApprovalID: "po-9", Approver: "ada", Expires: expires}, "ada")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO tenants (id, name) VALUES ($1, 'old')", []any{tenant}},
		{`INSERT INTO approvals (tenant_id, id, request_hash, title, requester, link, levels, expires_at)
		  VALUES ($1, 'po-9', '\x00', 'Buy', 'req', 'https://app.example/po/9', '[]', $2)`, []any{tenant, expires}},
		{`INSERT INTO events (id, tenant_id, type, idempotency_key, request_hash, recipients, data, link, workflow_id)
		  VALUES ($1, $2, 'approval.requested', 'approval:po-9:asked:1:0:ada', '\x00', '{"users":["ada"]}', '{"approval_id":"po-9"}', $3, 'w')`,
			[]any{event, tenant, old}},
		{"INSERT INTO deliveries (id, tenant_id, event_id, user_id, channel, status) VALUES ($1, $2, $3, 'ada', 'in_app', 'delivered')",
			[]any{delivery, tenant, event}},
		{`INSERT INTO notifications (tenant_id, user_id, event_id, delivery_id, type, title, link)
		  VALUES ($1, 'ada', $2, $3, 'approval.requested', 'Approval requested: Buy', $4)`, []any{tenant, event, delivery, old}},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var eventLink, itemLink string
	var desc []byte
	if err := conn.QueryRow(ctx, "SELECT e.link, e.personal_link, n.link FROM events e JOIN notifications n ON n.event_id = e.id WHERE e.id = $1",
		event).Scan(&eventLink, &desc, &itemLink); err != nil {
		t.Fatal(err)
	}
	if eventLink != "https://app.example/po/9" || itemLink != eventLink {
		t.Errorf("after the migration the event links %q and the item %q, want the approval's own link", eventLink, itemLink)
	}
	l, err := personal.Parse(desc)
	if err != nil || l == nil {
		t.Fatalf("description %s: %v", desc, err)
	}
	if again := minter.For(tenant, l, "ada"); again != old {
		t.Errorf("the link minted from the description %s is %q, want the one emailed, %q", desc, again, old)
	}
}
