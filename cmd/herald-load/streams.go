package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/seal"
)

// streamResult is the stream phase's figures.
type streamResult struct {
	last     time.Duration // post until the last stream got the item
	rssDelta int64         // process RSS, streams open minus before, bytes
	rss      int64
}

// streamFanOut opens n inbox streams (one per user) on the API of this
// process, posts one event to all n users, and measures until the last
// stream has received the item, and what the open streams cost in RSS.
func streamFanOut(ctx context.Context, h *localstack.Herald, n int) (streamResult, error) {
	var r streamResult
	tenant, key, err := seededTenant(ctx, h, "stream fan-out", n)
	if err != nil {
		return r, err
	}
	// The tokens are what the API would mint, sealed here to save n calls.
	links, err := seal.New(localstack.TestSigningKey)
	if err != nil {
		return r, err
	}
	before := rss()
	got := make(chan time.Time, n)
	opened := make(chan error, n)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := &http.Transport{MaxConnsPerHost: 0, MaxIdleConnsPerHost: n}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		user := fmt.Sprintf("user-%06d", i)
		tok := links.SealInbox(seal.Inbox{TenantID: tenant, UserID: user, Expires: time.Now().Add(time.Hour)})
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequestWithContext(sctx, "GET", h.API.URL+"/v1/users/"+user+"/notifications/stream?token="+tok, nil)
			res, err := client.Do(req)
			if err != nil {
				opened <- err
				return
			}
			defer res.Body.Close()
			sc := bufio.NewScanner(res.Body)
			counted := false
			for sc.Scan() {
				line := sc.Text()
				switch {
				case line == "event: count" && !counted:
					counted = true
					opened <- nil
				case line == "event: notification":
					got <- time.Now()
					return
				}
			}
		}()
	}
	for range n {
		if err := <-opened; err != nil {
			return r, fmt.Errorf("opening streams: %w", err)
		}
	}
	r.rss = rss()
	r.rssDelta = r.rss - before
	start := time.Now()
	res, err := call(h.API.URL, key, "POST", "/v1/events", projectUpdate)
	if err != nil {
		return r, err
	}
	deadline := time.After(2 * time.Minute)
	for i := range n {
		select {
		case at := <-got:
			if d := at.Sub(start); d > r.last {
				r.last = d
			}
		case <-deadline:
			return r, fmt.Errorf("%d of %d streams got the item within 2 minutes", i, n)
		}
	}
	cancel()
	wg.Wait()
	// The event's emails finish before the next phase.
	return r, awaitWorkflow(ctx, h.Temporal, res["workflow_id"].(string))
}

// rss is this process's resident set, in bytes.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}
