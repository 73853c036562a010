package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/heraldhq/herald/approval"
	"github.com/heraldhq/herald/contract"
	"github.com/heraldhq/herald/emitter"
	"github.com/heraldhq/herald/intake"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
	"github.com/heraldhq/herald/seal"
)

type approvalView struct {
	ID        string  `json:"id"`
	Status    string  `json:"status"`
	Level     int     `json:"level"`
	DecidedBy *string `json:"decided_by"`
	Decisions []struct {
		Approver string     `json:"approver"`
		Decision string     `json:"decision"`
		Comment  string     `json:"comment"`
		At       *time.Time `json:"at"`
	} `json:"decisions"`
	Title      string    `json:"title"`
	Requester  string    `json:"requester"`
	ExpiresAt  time.Time `json:"expires_at"`
	WorkflowID string    `json:"workflow_id"`
	Asked      []struct {
		User  string `json:"user"`
		Level int    `json:"level"`
	} `json:"asked"`
	History []struct {
		Kind   string    `json:"kind"`
		Level  int       `json:"level"`
		User   string    `json:"user"`
		Detail string    `json:"detail"`
		At     time.Time `json:"at"`
	} `json:"history"`
}

func (v approvalView) has(kind, user string) bool {
	for _, h := range v.History {
		if h.Kind == kind && h.User == user {
			return true
		}
	}
	return false
}

// approvalUsers makes a requester, two level-1 approvers, a level-2
// approver and an executive, each with their own address.
func approvalUsers(tn *tenant) map[string]string {
	sfx := tn.id.String()[:8]
	addr := map[string]string{}
	for _, u := range []string{"req", "ada", "bob", "cy", "exe"} {
		addr[u] = u + "-" + sfx + "@example.com"
		if u == "exe" {
			tn.putUser(u, addr[u], "role", "executive")
		} else {
			tn.putUser(u, addr[u])
		}
	}
	return addr
}

func approvalBody(id string, extra ...any) map[string]any {
	b := map[string]any{
		"id": id, "title": "Buy 3 laptops", "description": "For the new team.\nBudget line 7.", "requester": "req",
		"link": "https://app.example/po/" + id,
		"levels": []any{
			map[string]any{"approvers": []string{"ada", "bob"}, "timeout": "24h"},
			map[string]any{"approvers": []string{"cy"}, "timeout": "24h"},
		},
		"remind_every": "4h",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

var approvalLinkPattern = regexp.MustCompile(`https?://[^\s"<>]+/a/[A-Za-z0-9_-]+`)

// mailOfType is the caught mail of an event type to an address.
func mailOfType(address, typ string) []mailcatch.Message {
	var out []mailcatch.Message
	for _, m := range env.mail.Messages() {
		if t := m.Header["X-Herald-Event-Type"]; len(t) == 1 && t[0] == typ && len(m.To) == 1 && m.To[0] == address {
			out = append(out, m)
		}
	}
	return out
}

// approvalLink waits for the approval.requested email to address and
// returns the link it carries.
func approvalLink(t *testing.T, address string) string {
	t.Helper()
	waitFor(t, time.Minute, "the approval request email to "+address, func() bool {
		return len(mailOfType(address, "approval.requested")) > 0
	})
	m := mailOfType(address, "approval.requested")[0]
	link := approvalLinkPattern.FindString(m.Text)
	if link == "" {
		t.Fatalf("no approval link in the email to %s:\n%s", address, m.Text)
	}
	return link
}

// page is an answer from the approver's page.
type pageAnswer struct {
	status int
	body   string
}

func getPage(t *testing.T, link string) pageAnswer {
	t.Helper()
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageAnswer{res.StatusCode, string(b)}
}

func postPage(t *testing.T, link, decision, comment string, headers ...string) pageAnswer {
	t.Helper()
	req, err := http.NewRequest("POST", link, strings.NewReader(url.Values{"decision": {decision}, "comment": {comment}}.Encode()))
	if err != nil {
		t.Error(err)
		return pageAnswer{}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return pageAnswer{}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return pageAnswer{res.StatusCode, string(b)}
}

func (tn *tenant) approval(id string) approvalView {
	tn.t.Helper()
	return decodeAs[approvalView](tn.t, tn.must(200, tn.do("GET", "/v1/approvals/"+id, nil)))
}

// waitApprovalDone waits for the approval's workflow to complete.
func waitApprovalDone(t *testing.T, wid string) {
	t.Helper()
	waitFor(t, time.Minute, "the approval workflow to complete", func() bool {
		d, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, "")
		return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
	})
}

// TestApprovalOverTheAPI: validation, the repeat and conflict rules, the
// decision update's refusals (not asked 403, already decided 409 naming
// who), the stored history, the requester told, the signed callback, and
// no link token in the workflow's history.
func TestApprovalOverTheAPI(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	addr := approvalUsers(tn)
	hook := newHookServer(t, http.StatusServiceUnavailable) // the first try fails; the retry, 5 s later, lands

	cases := []struct {
		body       map[string]any
		status     int
		code, want string
	}{
		{approvalBody("x1", "levels", []any{map[string]any{"approvers": []string{"ada", "ghost"}, "timeout": "1h"}}), 400, "unknown_users", "ghost"},
		{approvalBody("x2", "levels", []any{map[string]any{"approvers": []string{"ada", "req"}, "timeout": "1h"}}), 422, "requester_is_approver", "req"},
		{approvalBody("x3", "colour", "red"), 400, "unknown_field", "colour"},
		{approvalBody("x4", "levels", []any{map[string]any{"approvers": []string{"ada"}, "timeout": "soon"}}), 400, "invalid_field", "levels[0].timeout"},
		{approvalBody("x5", "callback_url", hook.URL), 422, "webhook_secret_required", "callback_url"},
		{approvalBody("has space"), 400, "invalid_field", "id"},
	}
	for _, c := range cases {
		r := tn.do("POST", "/v1/approvals", c.body)
		if r.status != c.status || r.errCode() != c.code || !strings.Contains(string(r.raw), c.want) {
			t.Errorf("POST %v: %d %s, want %d %s naming %q", c.body["id"], r.status, r.raw, c.status, c.code, c.want)
		}
	}

	// The secret that signs callbacks (no endpoint of its own).
	secret := decodeAs[webhookView](t, tn.must(200, tn.do("PUT", "/v1/integrations/webhook", map[string]any{"url": ""}))).Secret
	body := approvalBody("po-1", "callback_url", hook.URL)
	created := decodeAs[approvalView](t, tn.must(201, tn.do("POST", "/v1/approvals", body)))
	if created.Status != "pending" || created.WorkflowID != contract.ApprovalWorkflowID(tn.id, "po-1") {
		t.Fatalf("created %+v", created)
	}
	tn.must(200, tn.do("POST", "/v1/approvals", body))
	if r := tn.do("POST", "/v1/approvals", approvalBody("po-1", "title", "Buy 4 laptops", "callback_url", hook.URL)); r.status != 409 || r.errCode() != "idempotency_conflict" {
		t.Fatalf("same id, other body: %d %s", r.status, r.raw)
	}

	link := approvalLink(t, addr["ada"])
	approvalLink(t, addr["bob"])
	waitFor(t, 30*time.Second, "the asked history", func() bool {
		v := tn.approval("po-1")
		return v.has("asked", "ada") && v.has("asked", "bob")
	})
	v := tn.approval("po-1")
	if v.Status != "pending" || v.Level != 1 || v.DecidedBy != nil || len(v.Asked) != 2 {
		t.Fatalf("pending approval %+v", v)
	}

	for who, code := range map[string]string{"cy": "not_an_approver", "stranger": "not_an_approver"} {
		r := tn.do("POST", "/v1/approvals/po-1/decision", map[string]any{"approver": who, "decision": "approve"})
		if r.status != 403 || r.errCode() != code {
			t.Errorf("%s deciding before being asked: %d %s", who, r.status, r.raw)
		}
	}
	if r := tn.do("POST", "/v1/approvals/po-1/decision", map[string]any{"approver": "ada", "decision": "maybe"}); r.status != 400 {
		t.Errorf("decision maybe: %d %s", r.status, r.raw)
	}
	decided := decodeAs[approvalView](t, tn.must(200, tn.do("POST", "/v1/approvals/po-1/decision",
		map[string]any{"approver": "ada", "decision": "approve", "comment": "fine by me"})))
	if decided.Status != "approved" || decided.DecidedBy == nil || *decided.DecidedBy != "ada" ||
		len(decided.Decisions) != 1 || decided.Decisions[0].Comment != "fine by me" || decided.Decisions[0].At == nil {
		t.Fatalf("the decision answered %+v", decided)
	}
	r := tn.do("POST", "/v1/approvals/po-1/decision", map[string]any{"approver": "bob", "decision": "reject"})
	if r.status != 409 || r.errCode() != "already_decided" || !strings.Contains(r.errorBody().Error.Message, "approved by ada at") ||
		r.errorBody().Error.Details["decided_by"] != "ada" {
		t.Fatalf("a second decision: %d %s", r.status, r.raw)
	}
	if r := tn.do("DELETE", "/v1/approvals/po-1", nil); r.status != 409 {
		t.Errorf("withdrawing a decided approval: %d %s", r.status, r.raw)
	}

	waitFor(t, time.Minute, "the callback's retry", func() bool { return len(hook.calls()) > 1 })
	calls := hook.calls()
	if calls[0].header.Get("webhook-id") != calls[1].header.Get("webhook-id") || string(calls[0].body) != string(calls[1].body) {
		t.Errorf("the retry is not the same message: %q %q", calls[0].header.Get("webhook-id"), calls[1].header.Get("webhook-id"))
	}
	call := calls[1]
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(call.body, call.header); err != nil {
		t.Fatalf("the callback does not verify: %v", err)
	}
	var cb struct {
		Type, ApprovalID, Status, DecidedBy, Comment string
	}
	_ = json.Unmarshal(call.body, &struct {
		Type       *string `json:"type"`
		ApprovalID *string `json:"approval_id"`
		Status     *string `json:"status"`
		DecidedBy  *string `json:"decided_by"`
		Comment    *string `json:"comment"`
	}{&cb.Type, &cb.ApprovalID, &cb.Status, &cb.DecidedBy, &cb.Comment})
	if cb.Type != "approval.outcome" || cb.ApprovalID != "po-1" || cb.Status != "approved" || cb.DecidedBy != "ada" || cb.Comment != "fine by me" {
		t.Fatalf("callback body %s", call.body)
	}

	waitFor(t, time.Minute, "the requester's email", func() bool { return len(mailOfType(addr["req"], "approval.outcome")) > 0 })
	m := mailOfType(addr["req"], "approval.outcome")[0]
	if m.Subject != "Approval approved: Buy 3 laptops" || !strings.Contains(m.Text, "approved by ada") || !strings.Contains(m.Text, "fine by me") {
		t.Errorf("requester's email %q:\n%s", m.Subject, m.Text)
	}
	waitFor(t, 30*time.Second, "the requester's inbox item", func() bool {
		page, _ := tn.inbox("req")
		return len(page.Data) == 1 && page.Data[0].Title == "Approval approved: Buy 3 laptops"
	})

	waitApprovalDone(t, created.WorkflowID)
	v = tn.approval("po-1")
	if v.Status != "approved" || !v.has("decided", "ada") || !v.has("callback", "") {
		t.Fatalf("closed approval %+v", v)
	}
	if p := getPage(t, link); p.status != 410 || !strings.Contains(p.body, "approved by ada at") {
		t.Errorf("ada's link after the decision: %d %s", p.status, p.body)
	}

	// No link token in the workflow's history, only in what was emailed.
	tok := link[strings.LastIndex(link, "/")+1:]
	iter := env.temporal.GetWorkflowHistory(context.Background(), created.WorkflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ev.String(), tok) || strings.Contains(ev.String(), "/a/") {
			t.Fatalf("a link token is in the workflow history (event %d)", ev.GetEventId())
		}
	}
	recordHistory(t, created.WorkflowID, "approval_decided")
}

// TestApprovalLinks: every way a link fails (tampered 403, expired 410,
// used 410 naming who decided, cross-site POST 403), GET never deciding,
// and of 20 concurrent POSTs from two approvers exactly one winning.
func TestApprovalLinks(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	addr := approvalUsers(tn)
	tn.must(200, tn.do("PUT", "/v1/integrations/slack", map[string]any{"bot_token": "xoxb-e2e"}))
	dm := "UA" + strings.ToUpper(tn.id.String()[:8])
	tn.putUser("ada", addr["ada"], "slack_user_id", dm)
	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("race")))
	ada, bob := approvalLink(t, addr["ada"]), approvalLink(t, addr["bob"])
	if ada == bob {
		t.Fatal("two approvers got the same link")
	}
	// Ada's Slack DM carries her link, as Approve and Reject buttons.
	waitFor(t, 30*time.Second, "ada's Slack DM", func() bool { return len(slackPosts(dm)) == 1 })
	blocks, _ := json.Marshal(slackPosts(dm)[0].Blocks)
	if !strings.Contains(string(blocks), ada+"?decision=approve") || !strings.Contains(string(blocks), ada+"?decision=reject") {
		t.Errorf("the Slack DM lacks ada's link buttons: %s", blocks)
	}

	for range 2 {
		p := getPage(t, ada)
		if p.status != 200 || !strings.Contains(p.body, "Buy 3 laptops") || !strings.Contains(p.body, "User req") ||
			!strings.Contains(p.body, `value="approve"`) || !strings.Contains(p.body, "1 of 2") {
			t.Fatalf("the page: %d %s", p.status, p.body)
		}
	}
	// Slack's Approve button opens the page with ?decision=approve: still
	// only a page.
	if p := getPage(t, ada+"?decision=approve"); p.status != 200 || !strings.Contains(p.body, `id="approve" autofocus`) {
		t.Fatalf("the page from Slack's button: %d %s", p.status, p.body)
	}
	if v := tn.approval("race"); v.Status != "pending" {
		t.Fatalf("GET decided: %+v", v)
	}

	tampered := []byte(ada)
	tampered[len(tampered)-5] ^= 1
	if p := getPage(t, string(tampered)); p.status != 403 {
		t.Errorf("tampered GET: %d", p.status)
	}
	if p := postPage(t, string(tampered), "approve", ""); p.status != 403 {
		t.Errorf("tampered POST: %d", p.status)
	}
	if p := postPage(t, ada, "approve", "", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); p.status != 403 {
		t.Errorf("cross-site POST: %d %s", p.status, p.body)
	}
	if p := postPage(t, ada, "approve", "", "Origin", "https://evil.example"); p.status != 403 {
		t.Errorf("cross-origin POST without Sec-Fetch-Site: %d %s", p.status, p.body)
	}
	s, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	expired := env.cfg.PublicURL + "/a/" + s.SealApproval(seal.Approval{TenantID: tn.id, ApprovalID: "race", Approver: "ada", Expires: time.Now().Add(-time.Minute)})
	if p := getPage(t, expired); p.status != 410 || !strings.Contains(p.body, "expired") {
		t.Errorf("expired GET: %d %s", p.status, p.body)
	}
	if p := postPage(t, expired, "approve", ""); p.status != 410 {
		t.Errorf("expired POST: %d", p.status)
	}
	if v := tn.approval("race"); v.Status != "pending" {
		t.Fatalf("a refused POST decided: %+v", v)
	}

	var wg sync.WaitGroup
	answers := make([]pageAnswer, 20)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			link, d := ada, "approve"
			if i%2 == 1 {
				link, d = bob, "reject"
			}
			answers[i] = postPage(t, link, d, fmt.Sprint("try ", i), "Sec-Fetch-Site", "same-origin")
		}()
	}
	wg.Wait()
	won := 0
	for i, a := range answers {
		switch a.status {
		case 200:
			won++
		case 410:
			if !strings.Contains(a.body, " by ") || !strings.Contains(a.body, " at ") {
				t.Errorf("POST %d lost without saying who decided and when: %s", i, a.body)
			}
		default:
			t.Errorf("POST %d: %d %s", i, a.status, a.body)
		}
	}
	if won != 1 {
		t.Fatalf("%d of 20 concurrent POSTs won, want exactly 1", won)
	}
	v := tn.approval("race")
	if v.DecidedBy == nil || len(v.Decisions) != 1 {
		t.Fatalf("after the race: %+v", v)
	}
	p := postPage(t, ada, "reject", "")
	if p.status != 410 || !strings.Contains(p.body, "by "+*v.DecidedBy) {
		t.Errorf("a POST after the decision: %d %s", p.status, p.body)
	}
}

// TestApprovalWithdrawal: DELETE withdraws a pending approval, its
// approvers are told, and their links are used up.
func TestApprovalWithdrawal(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	addr := approvalUsers(tn)
	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("wd")))
	link := approvalLink(t, addr["ada"])
	v := decodeAs[approvalView](t, tn.must(200, tn.do("DELETE", "/v1/approvals/wd", nil)))
	if v.Status != "withdrawn" {
		t.Fatalf("withdrawn: %+v", v)
	}
	for _, u := range []string{"ada", "bob"} {
		waitFor(t, time.Minute, u+" told of the withdrawal", func() bool { return len(mailOfType(addr[u], "approval.outcome")) > 0 })
		if m := mailOfType(addr[u], "approval.outcome")[0]; m.Subject != "Withdrawn: Buy 3 laptops" {
			t.Errorf("%s's email: %q", u, m.Subject)
		}
	}
	if p := postPage(t, link, "approve", ""); p.status != 410 || !strings.Contains(p.body, "withdrawn") {
		t.Errorf("a withdrawn approval's link: %d %s", p.status, p.body)
	}
	if r := tn.do("DELETE", "/v1/approvals/wd", nil); r.status != 409 {
		t.Errorf("withdrawing twice: %d %s", r.status, r.raw)
	}
	if r := tn.do("GET", "/v1/approvals/nope", nil); r.status != 404 {
		t.Errorf("unknown approval: %d", r.status)
	}
	if len(mailOfType(addr["cy"], "approval.outcome")) != 0 {
		t.Error("a level never asked was told of the withdrawal")
	}
}

// TestApprovalInABrowser opens the link from a caught email in headless
// Chromium at phone width, writes a comment, clicks Approve, sees the
// outcome page, and the requester is told in the inbox and by email.
func TestApprovalInABrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	tn := newTenant(t)
	addr := approvalUsers(tn)
	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("web-1")))
	link := approvalLink(t, addr["bob"])

	run(t, ctx, 20*time.Second, "opening the link",
		chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("approve")),
	)
	if title := value(t, ctx, "the request's title", chromedp.Text(chromedp.ID("title"))); title != "Buy 3 laptops" {
		t.Errorf("the page shows %q", title)
	}
	if w := value(t, ctx, "the page's width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 375 {
		t.Errorf("the page is %d px wide in a 375 px window: it scrolls sideways", w)
	}
	run(t, ctx, 20*time.Second, "approving",
		chromedp.SendKeys(chromedp.ID("comment"), "Go ahead"),
		chromedp.Click(chromedp.ID("approve")),
		chromedp.WaitVisible(chromedp.ID("outcome")),
	)
	if h := value(t, ctx, "the outcome", chromedp.Text(chromedp.CSS("h1"))); h != "Approved" {
		t.Errorf("the outcome page says %q", h)
	}
	if msg := value(t, ctx, "the outcome message", chromedp.Text(chromedp.ID("outcome"))); !strings.Contains(msg, "approved by bob at") {
		t.Errorf("the outcome message: %q", msg)
	}
	v := tn.approval("web-1")
	if v.Status != "approved" || len(v.Decisions) != 1 || v.Decisions[0].Approver != "bob" || v.Decisions[0].Comment != "Go ahead" {
		t.Fatalf("after the click: %+v", v)
	}
	waitFor(t, time.Minute, "the requester's inbox item", func() bool {
		page, _ := tn.inbox("req")
		return len(page.Data) == 1 && page.Data[0].Title == "Approval approved: Buy 3 laptops" && page.Data[0].Link == "https://app.example/po/web-1"
	})
	waitFor(t, time.Minute, "the requester's email", func() bool { return len(mailOfType(addr["req"], "approval.outcome")) == 1 })

	keepScreenshot(t, ctx, "approval-375px.png")
}

// TestApprovalNoticesRepeatAsOne runs the notice activity again, as
// Temporal does after a timeout or a worker crash: the reminder and the
// executive alert are each one event per person, one email each, one
// history row each.
func TestApprovalNoticesRepeatAsOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tn := newTenant(t)
	addr := approvalUsers(tn)
	tn.must(201, tn.do("POST", "/v1/approvals", approvalBody("again")))
	approvalLink(t, addr["ada"])
	links, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		t.Fatal(err)
	}
	acts := &emitter.Activities{Pool: env.pool,
		Intake:    &intake.Service{Pool: env.pool, Temporal: env.temporal, TaskQueue: env.cfg.TaskQueue, Log: logger},
		Approvals: emitter.ApprovalDeps{Links: links, Log: logger}}
	expires := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	for range 2 {
		for _, n := range []contract.ApprovalNotice{
			{Kind: approval.Reminded, Level: 1, N: 1, Users: []string{"ada", "bob"}},
			{Kind: approval.ExecutiveAlert, Level: 2, Roles: []string{"executive"}, Decide: true},
		} {
			n.TenantID, n.ID, n.Expires = tn.id, "again", expires
			res, err := acts.ApprovalNotice(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			if n.Decide && fmt.Sprint(res.Users) != "[exe]" {
				t.Fatalf("the executive alert told %v, want [exe]", res.Users)
			}
		}
	}
	for typ, want := range map[string]int{"approval.reminder": 2, "approval.executive_alert": 1} {
		if n := count(t, "SELECT count(*) FROM events WHERE tenant_id = $1 AND type = $2", tn.id, typ); n != want {
			t.Errorf("%d %s events, want %d", n, typ, want)
		}
	}
	waitFor(t, time.Minute, "the executive's alert", func() bool { return len(mailOfType(addr["exe"], "approval.executive_alert")) == 1 })
	waitFor(t, time.Minute, "the reminders", func() bool {
		return len(mailOfType(addr["ada"], "approval.reminder")) == 1 && len(mailOfType(addr["bob"], "approval.reminder")) == 1
	})
	if m := mailOfType(addr["exe"], "approval.executive_alert")[0]; m.Subject != "Executive attention: Buy 3 laptops" {
		t.Errorf("executive alert %q", m.Subject)
	}
	v := tn.approval("again")
	reminded := 0
	for _, h := range v.History {
		if h.Kind == "reminded" {
			reminded++
		}
	}
	if reminded != 2 || !v.has("executive_alert", "exe") {
		t.Errorf("history %+v", v.History)
	}
}

// TestRepeatOfAPurgedApprovalStaysDecided: once retention has purged a
// decided approval's run, the same POST again answers the stored decision
// and starts nothing: no reminders, no escalation, no "expired" callback
// for a request that was approved.
func TestRepeatOfAPurgedApprovalStaysDecided(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	approvalUsers(tn)
	body := approvalBody("purged", "remind_every", "1m")
	created := decodeAs[approvalView](t, tn.must(201, tn.do("POST", "/v1/approvals", body)))
	tn.must(200, tn.do("POST", "/v1/approvals/purged/decision", map[string]any{"approver": "ada", "decision": "approve"}))
	wid := created.WorkflowID
	waitApprovalDone(t, wid)
	purgeRun(t, wid)
	again := decodeAs[approvalView](t, tn.must(200, tn.do("POST", "/v1/approvals", body)))
	if again.Status != "approved" {
		t.Errorf("the repeat answered %+v, want the stored approval", again)
	}
	if _, err := env.temporal.DescribeWorkflowExecution(context.Background(), wid, ""); err == nil {
		t.Error("the repeat started the decided approval's workflow again")
	}
}
