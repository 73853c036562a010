package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium. A machine without it skips the browser
// test, except in CI (HERALD_REQUIRE_BROWSER=1), where it must run.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("HERALD_REQUIRE_BROWSER") == "1" {
		t.Fatal("Chromium is not installed, and HERALD_REQUIRE_BROWSER=1: install Debian's chromium (make browser)")
	}
	t.Skip("Chromium is not installed (Debian package chromium; `make browser` installs it): skipping the browser test")
	return ""
}

// browser starts headless Chromium with a fresh profile.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, for as long as ctx lives.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// step is one browser action that returns nothing.
type step = chromedp.Action[chromedp.Void]

// run runs browser steps with a deadline.
func run(t *testing.T, ctx context.Context, within time.Duration, what string, steps ...step) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	if err := chromedp.Do(c, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// value runs one browser action and returns its value.
func value[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true in the page.
func waitJS(expr string) step {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))
}

// TestInboxPageInABrowser drives the notification centre in headless
// Chromium at phone width: the badge goes from 0 to 1 and the item appears
// without a reload, marking it read clears the badge, a snoozed item comes
// back by itself, and a preference saved in the panel is stored.
func TestInboxPageInABrowser(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	tn := newTenant(t)
	tn.putUser("web", "web@example.com")
	page := tn.base + "/inbox?token=" + url.QueryEscape(tn.inboxToken("web"))

	run(t, ctx, 20*time.Second, "opening the page",
		chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile), // a phone: desktop windows stop at 500 px
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.ID("bell")),
		waitJS(`document.getElementById("badge").textContent === "0"`),
	)
	tn.assign("web", "WEB-1")
	run(t, ctx, 10*time.Second, "the first notification arriving live",
		waitJS(`document.getElementById("badge").textContent === "1"`),
		waitJS(`[...document.querySelectorAll("#list .title")].some(e => e.textContent === "WEB-1 was assigned to you")`),
	)
	if label := attr(t, ctx, "#bell", "aria-label"); label != "Notifications: 1 unread" {
		t.Errorf("bell label %q", label)
	}
	if w := value(t, ctx, "the page's width", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); w > 375 {
		t.Errorf("the page is %d px wide in a 375 px window: it scrolls sideways", w)
	}

	run(t, ctx, 10*time.Second, "marking it read",
		chromedp.Click(chromedp.CSS(`#list li.item .actions button`)),
		waitJS(`document.getElementById("badge").textContent === "0"`),
		waitJS(`!document.querySelector("#list li.item.unread")`),
	)

	tn.assign("web", "WEB-2")
	run(t, ctx, 10*time.Second, "the second notification",
		waitJS(`document.getElementById("badge").textContent === "1"`),
	)
	// Snooze the new item for two seconds (the page offers hours; the test
	// adds a short choice to the same menu).
	snoozed := value(t, ctx, "snoozing it", chromedp.Evaluate[string](`(() => {
			const li = [...document.querySelectorAll("#list li.item")].find(l => l.querySelector(".title").textContent === "WEB-2 was assigned to you");
			const sel = li.querySelector("select");
			const o = document.createElement("option"); o.value = "2"; o.textContent = "2 seconds"; sel.appendChild(o); sel.value = "2";
			[...li.querySelectorAll("button")].find(b => b.textContent === "Snooze").click();
			return li.dataset.id;
		})()`))
	run(t, ctx, 10*time.Second, "the snoozed item leaving the list",
		waitJS(`document.getElementById("badge").textContent === "0"`),
		waitJS(fmt.Sprintf(`!document.querySelector('#list li[data-id="%s"]')`, snoozed)),
	)
	run(t, ctx, 15*time.Second, "the snoozed item coming back by itself",
		waitJS(fmt.Sprintf(`!!document.querySelector('#list li.item.unread[data-id="%s"]')`, snoozed)),
		waitJS(`document.getElementById("badge").textContent === "1"`),
	)

	run(t, ctx, 10*time.Second, "saving a preference",
		chromedp.Click(chromedp.CSS(`#prefs summary`)),
		chromedp.WaitVisible(chromedp.ID(`email-frequency`)),
		chromedp.SetValue(chromedp.ID(`email-frequency`), "daily"),
		chromedp.Click(chromedp.ID(`prefs-save`)),
		waitJS(`document.getElementById("prefs-status").textContent === "Saved."`),
	)
	prefs := decodeAs[map[string]any](t, tn.must(200, tn.do("GET", "/v1/users/web/preferences", nil)))
	email, _ := prefs["channels"].(map[string]any)["email"].(map[string]any)
	if email["frequency"] != "daily" {
		t.Errorf("stored preferences after the panel's save: %v", prefs["channels"])
	}
	if _, set := prefs["quiet_hours"]; set {
		t.Errorf("saving the frequency wrote quiet hours the user did not touch: %v", prefs["quiet_hours"])
	}

	keepScreenshot(t, ctx, "inbox-375px.png")
}

// keepScreenshot saves the whole page as name under HERALD_ARTIFACTS (a
// temporary directory when unset), for a person to look at.
func keepScreenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	shot := value(t, ctx, "the screenshot", chromedp.FullScreenshot(100))
	dir := os.Getenv("HERALD_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// TestInboxWidgetEmbeds: the drop-in script puts a bell with a live badge on
// another page, and opens the notification centre in a panel.
func TestInboxWidgetEmbeds(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	tn := newTenant(t)
	tn.putUser("emb", "emb@example.com")
	tn.waitEvent(tn.assign("emb", "EMB-1").EventID)
	host := `<!doctype html><html><body><h1>Some app</h1><div id="slot"></div>` + widgetTag(tn.base, "emb", tn.inboxToken("emb"), "") + `</body></html>`
	app := hostApp(t, func(*http.Request) string { return host })
	run(t, ctx, 20*time.Second, "the widget on another page",
		chromedp.Navigate(app),
		chromedp.WaitVisible(chromedp.CSS(`#slot button`)),
		waitJS(`document.querySelector("#slot button").getAttribute("aria-label") === "Notifications: 1 unread"`),
		chromedp.Click(chromedp.CSS(`#slot button`)),
		waitJS(`document.querySelector("iframe") && document.querySelector("iframe").style.display === "block"`),
	)
	src := attr(t, ctx, "iframe", "src")
	if !strings.HasPrefix(src, tn.base+"/inbox?token=") {
		t.Fatalf("the panel opens %q", src)
	}
}

// TestInboxWidgetSpeaksTheHostPagesLanguage: the bell's labels are in the
// host page's language, or data-locale's when it says one.
func TestInboxWidgetSpeaksTheHostPagesLanguage(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	tn := newTenant(t)
	tn.putUser("sprache", "sprache@example.com")
	tn.waitEvent(tn.assign("sprache", "LANG-1").EventID)
	token := tn.inboxToken("sprache")
	// A German page, which on /fr asks the widget for French.
	app := hostApp(t, func(r *http.Request) string {
		attrs := ""
		if r.URL.Path == "/fr" {
			attrs = `data-locale="fr"`
		}
		return `<!doctype html><html lang="de-AT"><body><div id="slot"></div>` + widgetTag(tn.base, "sprache", token, attrs) + `</body></html>`
	})
	for path, want := range map[string][2]string{
		"/de": {"Benachrichtigungen", "Benachrichtigungen: 1 ungelesen"},
		"/fr": {"Notifications", "Notifications : 1 non lues"},
	} {
		run(t, ctx, 20*time.Second, "the widget on "+path,
			chromedp.Navigate(app+path),
			chromedp.WaitVisible(chromedp.CSS(`#slot button`)),
			waitJS(fmt.Sprintf(`document.querySelector("#slot button").getAttribute("aria-label") === %q`, want[1])),
		)
		if title := attr(t, ctx, "iframe", "title"); title != want[0] {
			t.Errorf("on %s the panel is titled %q, want %q", path, title, want[0])
		}
	}
}

// widgetTag is the script tag that embeds the bell for user in #slot, with
// extra attributes.
func widgetTag(base, user, token, extra string) string {
	return fmt.Sprintf(`<script src="%s/inbox/widget.js" data-user="%s" data-token="%s" data-target="#slot" %s></script>`, base, user, token, extra)
}

// hostApp serves another app's pages, as page writes them, and answers
// its URL.
func hostApp(t *testing.T, page func(*http.Request) string) string {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(page(r)))
	}))
	t.Cleanup(app.Close)
	return app.URL
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	return value(t, ctx, "reading "+sel+"["+name+"]", chromedp.AttributeValue(chromedp.CSS(sel), name)).Value
}
