// Command herald-load measures Herald end to end on this machine: events/s
// through the REST API to delivered in-app and email, next to a bare
// workflow-with-one-activity rate on the same Temporal server in the same
// run, the same with one and then two `herald worker` processes, the API and end-to-end latency at that rate, and the time of a
// 10,000-recipient fan-out, of the same to users on daily digests (two
// events in one window), of one event to 1,000 users with an inbox stream
// open each (until the last stream has it), of the same fan-out with its
// recipients' quiet hours
// spread over 24 zones, of the same behind an SMTP server that holds each
// message 50 ms, and of a 100,000-recipient fan-out.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/heraldhq/herald/internal/app"
	"github.com/heraldhq/herald/internal/dev/localstack"
	"github.com/heraldhq/herald/internal/dev/mailcatch"
)

// statements is how many of the database's costliest statements each
// fan-out phase prints.
var statements = flag.Int("statements", 5, "print the database's top statements by time per fan-out phase (0: none)")

// cpuProfile is where each fan-out phase's CPU profile is written.
var cpuProfile = flag.String("cpuprofile", "", "directory for a CPU profile (pprof) of this process per fan-out phase")

func main() {
	events := flag.Int("events", 600, "events (and bare workflows) per measured phase")
	conc := flag.Int("concurrency", 32, "requests in flight")
	fanout := flag.Int("fanout", 10000, "recipients of the fan-out event (0 skips it)")
	fanoutRuns := flag.Int("fanout-runs", 3, "fan-out repetitions; the median is reported")
	smtpDelay := flag.Duration("smtp-delay", 50*time.Millisecond, "per-message SMTP delay for one more -fanout run (0 skips it)")
	large := flag.Int("large-fanout", 100000, "recipients of one more, large fan-out (0 skips it)")
	streams := flag.Int("streams", 1000, "inbox streams open for the real-time phase (0 skips it)")
	workers := flag.Bool("worker-processes", true, "measure events/s with one and with two `herald worker` processes")
	digests := flag.Bool("digests", true, "measure the fan-out to daily digests and the arming of their windows")
	throttles := flag.Bool("throttles", true, "measure two fan-outs of a throttled type: one admitted, one skipped")
	collapses := flag.Bool("collapses", true, "measure two fan-outs with one group key: one opening the windows, one joining them")
	flag.Parse()
	opts := options{events: *events, conc: *conc, fanout: *fanout, fanoutRuns: *fanoutRuns, smtpDelay: *smtpDelay, large: *large, streams: *streams, workers: *workers, digests: *digests,
		throttles: *throttles, collapses: *collapses}
	if err := run(context.Background(), opts); err != nil {
		fmt.Fprintln(os.Stderr, "herald-load:", err)
		os.Exit(1)
	}
}

// bare is the baseline: what one workflow with one activity costs the server.
func bare(ctx workflow.Context) error {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Second})
	return workflow.ExecuteActivity(ctx, noop).Get(ctx, nil)
}

func noop(context.Context) error { return nil }

type options struct {
	events, conc       int
	fanout, fanoutRuns int
	digests            bool
	throttles          bool
	collapses          bool
	smtpDelay          time.Duration
	large              int
	streams            int
	workers            bool
}

func run(ctx context.Context, opts options) error {
	n, conc, fanout := opts.events, opts.conc, opts.fanout
	bin, _ := filepath.Abs("bin/temporal")
	var logs localstack.LogBuffer
	fmt.Println("starting PostgreSQL, Temporal (SQLite file, WAL) and the SMTP catcher...")
	servers, err := localstack.Start(ctx, localstack.Options{TemporalBin: bin, TemporalFile: true, Statements: *statements > 0, Log: &logs})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, logs.String())
	}
	defer servers.Stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	h, err := servers.StartHerald(ctx, "", "herald-load", logger)
	if err != nil {
		return err
	}
	defer h.Stop()

	bw := sdkworker.New(h.Temporal, "bare", sdkworker.Options{})
	bw.RegisterWorkflow(bare)
	bw.RegisterActivity(noop)
	if err := bw.Start(); err != nil {
		return err
	}
	defer bw.Stop()

	_, key, err := app.CreateTenant(ctx, h.Pool, "load")
	if err != nil {
		return err
	}
	const users = 100
	for i := range users {
		body := fmt.Sprintf(`{"email": "load-%03d@load.test", "name": "Load %d"}`, i, i)
		if _, err := call(h.API.URL, key, "PUT", fmt.Sprintf("/v1/users/load-%03d", i), body); err != nil {
			return err
		}
	}

	runBare := func(count int) (time.Duration, error) {
		return parallel(count, conc, func(i int) error {
			r, err := h.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "bare-" + uuid.NewString(), TaskQueue: "bare"}, bare)
			if err != nil {
				return err
			}
			return r.Get(ctx, nil)
		})
	}
	// runEvents records, per event, when its POST began and how long it took,
	// so that latencies come from the same requests the rate does.
	var posted []postTiming
	runEvents := func(count int) (time.Duration, error) {
		posted = make([]postTiming, count)
		return parallel(count, conc, func(i int) error {
			body := fmt.Sprintf(`{"type": "issue.assigned", "recipients": {"users": ["load-%03d"]}, "data": {"issue_key": "LOAD-%d", "title": "Load test"}}`, i%users, i)
			start := time.Now()
			res, err := call(h.API.URL, key, "POST", "/v1/events", body)
			if err != nil {
				return err
			}
			posted[i] = postTiming{eventID: fmt.Sprint(res["event_id"]), start: start, took: time.Since(start)}
			return awaitWorkflow(ctx, h.Temporal, res["workflow_id"].(string))
		})
	}

	fmt.Println("warming up...")
	if _, err := runBare(50); err != nil {
		return err
	}
	if _, err := runEvents(50); err != nil {
		return err
	}
	mailBefore := servers.Mail.Count()
	var inboxBefore int
	_ = h.Pool.QueryRow(ctx, "SELECT count(*) FROM notifications").Scan(&inboxBefore)

	fmt.Printf("measuring %d bare workflows, %d in flight...\n", n, conc)
	c0 := cpuByProcess()
	bareTime, err := runBare(n)
	if err != nil {
		return err
	}
	c1 := cpuByProcess()
	fmt.Printf("measuring %d events through the API (in-app + email), %d in flight...\n", n, conc)
	eventTime, err := runEvents(n)
	if err != nil {
		return err
	}
	c2 := cpuByProcess()
	var inbox int
	_ = h.Pool.QueryRow(ctx, "SELECT count(*) FROM notifications").Scan(&inbox)
	if got := servers.Mail.Count() - mailBefore; got != n || inbox-inboxBefore != n {
		return fmt.Errorf("delivered %d emails and %d inbox items for %d events", got, inbox-inboxBefore, n)
	}

	bareRate := float64(n) / bareTime.Seconds()
	eventRate := float64(n) / eventTime.Seconds()
	fmt.Printf("\n%-48s %8.1f /s\n", "bare workflow + 1 activity (baseline)", bareRate)
	fmt.Printf("%-48s %8.1f /s\n", "events, API to in-app + email delivered", eventRate)
	fmt.Printf("%-48s %8.2f\n", "ratio (events / baseline)", eventRate/bareRate)
	self := selfName()
	for _, phase := range []struct {
		name     string
		from, to map[string]int64
	}{{"bare", c0, c1}, {"events", c1, c2}} {
		d := cpuDelta(phase.from, phase.to, "temporal", "postgres", self)
		fmt.Printf("CPU ms per %-6s  temporal %5.1f  postgres %5.1f  herald+load %5.1f\n", phase.name,
			d["temporal"]/float64(n), d["postgres"]/float64(n), d[self]/float64(n))
	}
	api, e2e, err := latencies(posted, servers.Mail.Messages())
	if err != nil {
		return err
	}
	for _, l := range []struct {
		name string
		ds   []time.Duration
	}{{"POST /v1/events latency", api}, {"event to email caught (POST start to SMTP)", e2e}} {
		fmt.Printf("%-48s %8.1f ms\n", l.name+" p50", ms(percentile(l.ds, 50)))
		fmt.Printf("%-48s %8.1f ms\n", l.name+" p99", ms(percentile(l.ds, 99)))
	}

	ruleRate, err := rulesPhase(ctx, h, servers, n, conc)
	if err != nil {
		return err
	}
	fmt.Printf("%-48s %8.1f /s  (%.2fx the events)\n", "input events, rule fired, warning email sent", ruleRate, ruleRate/eventRate)

	if opts.workers {
		one, two, err := workerScaling(ctx, h, servers, n, conc, logger)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.1f /s\n", "events, one herald worker process", one)
		fmt.Printf("%-48s %8.1f /s  (%.2fx)\n", "events, two herald worker processes", two, two/one)
	}
	var immediate time.Duration
	if fanout > 0 {
		var took []time.Duration
		for run := range max(opts.fanoutRuns, 1) {
			d, err := fanOut(ctx, h, servers, fanout, fmt.Sprintf("fan-out run %d", run+1))
			if err != nil {
				return err
			}
			took = append(took, d)
		}
		slices.Sort(took)
		all := make([]string, len(took))
		for i, d := range took {
			all[i] = fmt.Sprintf("%.2f", d.Seconds())
		}
		immediate = took[len(took)/2]
		fmt.Printf("%-48s %8.2f s  (median of %s s)\n", fmt.Sprintf("fan-out to %d recipients (in-app + email)", fanout),
			immediate.Seconds(), strings.Join(all, ", "))
	}
	if opts.streams > 0 {
		r, err := streamFanOut(ctx, h, opts.streams)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s  (process RSS %d MiB, +%d MiB with the streams open)\n",
			fmt.Sprintf("%d open streams, one event to all: last received", opts.streams),
			r.last.Seconds(), r.rss>>20, r.rssDelta>>20)
	}
	if fanout > 0 {
		d, deferred, releases, timers, err := quietFanOut(ctx, h, servers, fanout)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s  (%d deferred to %d release times; timers started: %d)\n",
			fmt.Sprintf("fan-out to %d, quiet hours over 24 zones", fanout), d.Seconds(), deferred, releases, timers)
	}
	if fanout > 0 && opts.smtpDelay > 0 {
		servers.Mail.SetDelay(opts.smtpDelay)
		d, err := fanOut(ctx, h, servers, fanout, "fan-out with slow SMTP")
		servers.Mail.SetDelay(0)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s\n", fmt.Sprintf("fan-out to %d, SMTP %v per message", fanout, opts.smtpDelay), d.Seconds())
	}
	if opts.large > 0 {
		d, err := fanOut(ctx, h, servers, opts.large, fmt.Sprintf("fan-out to %d", opts.large))
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s\n", fmt.Sprintf("fan-out to %d recipients (in-app + email)", opts.large), d.Seconds())
	}
	if fanout > 0 && opts.throttles {
		r, err := throttleFanOut(ctx, h, servers, fanout)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s  (%.2fx the immediate fan-out)\n", fmt.Sprintf("fan-out to %d, throttle admits", fanout),
			r.first.Seconds(), r.first.Seconds()/immediate.Seconds())
		fmt.Printf("%-48s %8.2f s  (%.2fx the immediate fan-out)\n", fmt.Sprintf("fan-out to %d, throttle skips", fanout),
			r.second.Seconds(), r.second.Seconds()/immediate.Seconds())
	}
	// Next to last: its 10,000 windows' workflows stay open (until 09:00),
	// and would weigh on any phase after it.
	if fanout > 0 && opts.digests {
		r, err := digestFanOut(ctx, h, fanout)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s  (%.2fx the immediate fan-out)\n", fmt.Sprintf("fan-out to %d on daily digests, first event", fanout),
			r.first.Seconds(), r.first.Seconds()/immediate.Seconds())
		fmt.Printf("%-48s %8.2f s  (%.2fx the immediate fan-out)\n", fmt.Sprintf("fan-out to %d on daily digests, same window", fanout),
			r.second.Seconds(), r.second.Seconds()/immediate.Seconds())
		fmt.Printf("%-48s %8.2f s  (%d windows, %.0f/s, after the fan-out)\n", "digest windows' workflows started",
			r.armed.Seconds(), r.windows, float64(r.windows)/r.armed.Seconds())
	}
	// Last, after the digests' windows are armed: the collapse windows'
	// workflows stay open for an hour.
	if fanout > 0 && opts.collapses {
		r, err := collapseFanOut(ctx, h, fanout)
		if err != nil {
			return err
		}
		fmt.Printf("%-48s %8.2f s  (%.2fx the immediate fan-out)\n", fmt.Sprintf("fan-out to %d, collapse opens windows", fanout),
			r.first.Seconds(), r.first.Seconds()/immediate.Seconds())
		fmt.Printf("%-48s %8.2f s  (%.2fx the immediate fan-out)\n", fmt.Sprintf("fan-out to %d, collapse joins them", fanout),
			r.second.Seconds(), r.second.Seconds()/immediate.Seconds())
	}
	return nil
}

// postTiming is one measured POST /v1/events.
type postTiming struct {
	eventID string
	start   time.Time     // just before the request
	took    time.Duration // until its response was read
}

// latencies returns the POST latencies and, for each event whose email the
// catcher holds (by its X-Herald-Event-Id header), the time from just before
// its POST to the email being accepted by the SMTP server.
func latencies(posted []postTiming, caught []mailcatch.Message) (api, e2e []time.Duration, err error) {
	start := make(map[string]time.Time, len(posted))
	for _, p := range posted {
		api = append(api, p.took)
		start[p.eventID] = p.start
	}
	for _, m := range caught {
		ids := m.Header["X-Herald-Event-Id"]
		if len(ids) == 0 {
			continue
		}
		if t, ok := start[ids[0]]; ok {
			e2e = append(e2e, m.Received.Sub(t))
			delete(start, ids[0]) // a retried send counts once, at its first arrival
		}
	}
	if len(e2e) != len(posted) {
		return nil, nil, fmt.Errorf("found the email of %d of %d events in the catcher, which keeps the newest 20000", len(e2e), len(posted))
	}
	slices.Sort(api)
	slices.Sort(e2e)
	return api, e2e, nil
}

// percentile is the nearest-rank p-th percentile of sorted ds: the smallest
// value that at least p% of ds do not exceed. It is 0 for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// selfName is this process's command name as the kernel reports it.
func selfName() string {
	self := filepath.Base(os.Args[0])
	if len(self) > 15 {
		self = self[:15] // the kernel's comm is at most 15 bytes
	}
	return self
}

// fanOut posts one event to a fresh tenant of n users and waits until every
// inbox item and email is delivered. name labels the run's CPU line and names
// the tenant.
func fanOut(ctx context.Context, h *localstack.Herald, servers *localstack.Servers, n int, name string) (time.Duration, error) {
	_, key, err := seededTenant(ctx, h, name, n)
	if err != nil {
		return 0, err
	}
	mailBefore := servers.Mail.Count()
	if dir := *cpuProfile; dir != "" {
		// The whole process: API, worker, SMTP catcher and the load itself.
		path := filepath.Join(dir, strings.NewReplacer(" ", "-", ",", "").Replace(name)+".pprof")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		f, err := os.Create(path)
		if err != nil {
			return 0, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return 0, err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
			topFunctions(path, 5)
		}()
	}
	resetStatements(ctx, h)
	c0 := cpuByProcess()
	defer func() {
		d := cpuDelta(c0, cpuByProcess(), "temporal", "postgres", selfName())
		fmt.Printf("  %s CPU s: temporal %.1f  postgres %.1f  herald+load %.1f\n", name,
			d["temporal"]/1000, d["postgres"]/1000, d[selfName()]/1000)
		if *statements > 0 {
			topStatements(ctx, h, *statements)
		}
	}()
	_, took, err := postAndWait(ctx, h, key, projectUpdate)
	if err != nil {
		return 0, err
	}
	if got := servers.Mail.Count() - mailBefore; got != n {
		return 0, fmt.Errorf("fan-out delivered %d emails to %d recipients", got, n)
	}
	return took, nil
}

// parallel runs fn count times with conc in flight and returns the wall time.
func parallel(count, conc int, fn func(i int) error) (time.Duration, error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= count {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), first
}

var httpClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func call(base, key, method, path, body string) (map[string]any, error) {
	req, err := http.NewRequest(method, base+path, bytes.NewBufferString(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	var out map[string]any
	return out, json.Unmarshal(raw, &out)
}

// topFunctions prints the n functions a CPU profile spent most time in by
// their own time (mostly the runtime and system calls), and Herald's own n
// costliest functions with what they call, as `go tool pprof -top` reports.
func topFunctions(path string, n int) {
	for _, view := range []struct {
		title string
		args  []string
	}{
		{"by own CPU", nil},
		{"Herald's, by CPU with callees", []string{"-cum", "-show=heraldhq/herald/"}},
	} {
		args := append([]string{"tool", "pprof", "-top", "-nodecount=" + strconv.Itoa(n)}, view.args...)
		out, err := exec.Command("go", append(args, path)...).Output()
		if err != nil {
			fmt.Printf("  (no profile summary: %v)\n", err)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		fmt.Printf("  top %d functions %s (%s):\n", n, view.title, filepath.Base(path))
		for _, l := range lines[max(0, len(lines)-n):] {
			fmt.Println("    " + strings.TrimSpace(l))
		}
	}
}

// resetStatements starts pg_stat_statements afresh for a phase.
func resetStatements(ctx context.Context, h *localstack.Herald) {
	_, _ = h.Owner.Exec(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	_, _ = h.Owner.Exec(ctx, "SELECT pg_stat_statements_reset()")
}

// topStatements prints the n statements the database spent most time on
// since the reset: where a phase's PostgreSQL CPU goes.
func topStatements(ctx context.Context, h *localstack.Herald, n int) {
	rows, err := h.Owner.Query(ctx, `SELECT total_exec_time, calls, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 90)
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $1`, n)
	if err != nil {
		fmt.Printf("    (no statement statistics: %v)\n", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var ms float64
		var calls, nrows int64
		var q string
		if rows.Scan(&ms, &calls, &nrows, &q) == nil {
			fmt.Printf("    %8.0f ms %7d calls %9d rows  %s\n", ms, calls, nrows, q)
		}
	}
}
