package devstack

// Why not the SDK's testsuite.StartDevServer: it starts the same CLI, but
// owns the process, so a test cannot kill it as a crash would (SIGKILL to
// the process group), freeze it (SIGSTOP), or start it again on the same
// ports and SQLite file, which the fault suite does; and it registers search
// attributes only when it creates a namespace, so a persisted file from an
// older release would start without Herald's newer ones. What is here is
// what it lacks: the rest (ports, readiness) is a few lines either way.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
)

const (
	temporalReadyTimeout = 60 * time.Second
	temporalStopGrace    = 10 * time.Second
)

// TemporalOptions configures StartTemporal.
type TemporalOptions struct {
	// Bin is the path to the Temporal CLI binary (built by `make bin/temporal`).
	Bin string
	// DBFile is the SQLite file that persists server state; "" keeps it in
	// memory, losing everything on Stop.
	DBFile string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// UIPort is the Web UI port; 0 runs without the UI.
	UIPort int
	// HTTPPort is the frontend HTTP API port; 0 picks a free one. It is always
	// set explicitly so that parallel servers do not collide on a default.
	HTTPPort int
	// MetricsPort is the Prometheus metrics port; 0 picks a free one, for the
	// same reason as HTTPPort.
	MetricsPort int
	// Namespace is created at start-up if needed. Defaults to "default".
	Namespace string
	// SearchAttributes are Keyword search attributes to register in
	// Namespace, e.g. "HeraldTenant".
	SearchAttributes []string
	// Log receives the server's output. nil discards it.
	Log io.Writer
}

// Temporal is a running Temporal dev server started by StartTemporal.
type Temporal struct {
	// Address is the frontend gRPC host:port, e.g. 127.0.0.1:7233.
	Address string
	// Namespace is the namespace that was set up.
	Namespace string
	// UIURL is the Web UI's URL, or "" when running headless.
	UIURL string

	opts TemporalOptions
	proc *process
}

// StartTemporal starts `temporal server start-dev` and waits until the
// frontend is healthy and every requested search attribute is registered in
// the namespace.
func StartTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	if opts.Bin == "" {
		return nil, errors.New("devstack: TemporalOptions.Bin is required (build it with `make bin/temporal`)")
	}
	if _, err := os.Stat(opts.Bin); err != nil {
		return nil, fmt.Errorf("temporal CLI not found at %s (run `make bin/temporal`): %w", opts.Bin, err)
	}
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	if opts.DBFile != "" {
		if err := os.MkdirAll(filepath.Dir(opts.DBFile), 0o755); err != nil {
			return nil, fmt.Errorf("creating directory for temporal database: %w", err)
		}
	}

	// As for postgres, only auto-picked ports are worth retrying when someone
	// else grabs one first.
	attempts := 1
	if opts.Port == 0 || opts.HTTPPort == 0 || opts.MetricsPort == 0 {
		attempts = 3
	}
	for attempt := 1; ; attempt++ {
		t, err := startTemporal(ctx, opts)
		if err == nil {
			return t, nil
		}
		var busy *portBusyError
		if attempt >= attempts || !errors.As(err, &busy) {
			return nil, err
		}
	}
}

// Stop sends SIGTERM to the server's process group, SIGKILL if it is still
// running 10 seconds later, and waits for it to exit. It is safe to call more
// than once.
func (t *Temporal) Stop() error {
	return t.proc.stop(syscall.SIGTERM, temporalStopGrace, syscall.SIGKILL, true)
}

// Kill ends the server at once (SIGKILL to its process group), as a crash
// would, and waits for it to exit.
func (t *Temporal) Kill() error {
	err := t.proc.stop(syscall.SIGKILL, temporalStopGrace, syscall.SIGKILL, true)
	if exitedBy(t.proc.err, syscall.SIGKILL) {
		return nil
	}
	return err
}

// Start starts a server that Stop or Kill ended, on the same ports and
// database file: with DBFile set, everything it held is back.
func (t *Temporal) Start(ctx context.Context) error {
	next, err := startTemporal(ctx, t.opts)
	if err != nil {
		return err
	}
	*t = *next
	return nil
}

func startTemporal(ctx context.Context, opts TemporalOptions) (*Temporal, error) {
	for _, p := range []*int{&opts.Port, &opts.HTTPPort, &opts.MetricsPort} {
		if *p == 0 {
			port, err := FreePort()
			if err != nil {
				return nil, err
			}
			*p = port
		}
	}
	t := &Temporal{
		Address:   net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)),
		Namespace: opts.Namespace,
		opts:      opts,
	}
	if opts.UIPort != 0 {
		t.UIURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.UIPort))
	}

	cmd := exec.Command(opts.Bin, temporalArgs(opts)...)
	cmd.SysProcAttr = sysProcAttr(nil, syscall.SIGKILL)
	proc, err := startProcess("temporal server", cmd, opts.Log)
	if err != nil {
		return nil, err
	}
	t.proc = proc
	if err := t.waitReady(ctx, opts.SearchAttributes); err != nil {
		_ = t.Stop()
		return nil, err
	}
	return t, nil
}

func temporalArgs(opts TemporalOptions) []string {
	args := []string{
		"server", "start-dev",
		"--ip", "127.0.0.1",
		"--port", strconv.Itoa(opts.Port),
		"--http-port", strconv.Itoa(opts.HTTPPort),
		"--metrics-port", strconv.Itoa(opts.MetricsPort),
		"--log-level", "warn",
		// "pretty" is still accepted by CLI v1.5 but only as a hidden legacy
		// alias of "text".
		"--log-format", "text",
	}
	// "default" is always created; naming it again would be redundant.
	if opts.Namespace != "default" {
		args = append(args, "--namespace", opts.Namespace)
	}
	if opts.DBFile != "" {
		args = append(args,
			"--db-filename", opts.DBFile,
			// WAL plus synchronous=normal is far faster than the rollback
			// journal and can only lose the last transactions on power loss.
			"--sqlite-pragma", "journal_mode=wal",
			"--sqlite-pragma", "synchronous=normal",
		)
	}
	if opts.UIPort != 0 {
		args = append(args, "--ui-port", strconv.Itoa(opts.UIPort))
	} else {
		args = append(args, "--headless")
	}
	// The dev server only applies these when it creates the namespace, i.e.
	// on a fresh database; ensureSearchAttributes covers the rest.
	for _, name := range opts.SearchAttributes {
		args = append(args, "--search-attribute", name+"=Keyword")
	}
	return args
}

// waitReady polls until the frontend is healthy and the search attributes are
// registered, the server exits, or the start-up timeout passes.
func (t *Temporal) waitReady(ctx context.Context, attrs []string) error {
	ctx, cancel := context.WithTimeout(ctx, temporalReadyTimeout)
	defer cancel()
	var lastErr error
	for {
		select {
		case <-t.proc.done:
			err := t.proc.exitedEarly()
			if isAddrInUse(t.proc.tail) {
				return &portBusyError{err}
			}
			return err
		default:
		}
		err := t.checkReady(ctx, attrs)
		if err == nil {
			return nil
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return err
		}
		lastErr = err
		if err := sleepCtx(ctx, 200*time.Millisecond); err != nil {
			return withTail(fmt.Errorf("temporal server at %s not ready after %s: %w (last error: %v)",
				t.Address, temporalReadyTimeout, err, lastErr), t.proc.tail)
		}
	}
}

// permanentError is a readiness failure that waiting will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func (t *Temporal) checkReady(ctx context.Context, attrs []string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(ctx, client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		// The SDK's default logger would print connection noise on every
		// attempt while the server is still coming up.
		Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		return fmt.Errorf("dialing: %w", err)
	}
	defer c.Close()
	if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	return ensureSearchAttributes(ctx, c.OperatorService(), t.Namespace, attrs)
}

// ensureSearchAttributes registers whichever of attrs the namespace lacks and
// reports success only once all of them are listed. The dev server applies
// --search-attribute only when it creates a namespace, so attributes added
// after a DBFile was first created would otherwise be silently missing.
func ensureSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string, attrs []string) error {
	if len(attrs) == 0 {
		return nil
	}
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("listing search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range attrs {
		typ, ok := resp.GetCustomAttributes()[name]
		switch {
		case !ok:
			missing[name] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
		case typ != enumspb.INDEXED_VALUE_TYPE_KEYWORD:
			return &permanentError{fmt.Errorf("search attribute %s is registered as %s in namespace %s, want Keyword", name, typ, namespace)}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("adding search attributes: %w", err)
	}
	// Report not-ready so the caller lists again and confirms visibility.
	return fmt.Errorf("search attributes %v were just added", slices.Sorted(maps.Keys(missing)))
}

// Pause freezes the server (SIGSTOP), as an outage looks to its clients:
// connections stay open and nothing answers. Resume thaws it.
func (t *Temporal) Pause() error { return t.proc.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume thaws a paused server.
func (t *Temporal) Resume() error { return t.proc.cmd.Process.Signal(syscall.SIGCONT) }
