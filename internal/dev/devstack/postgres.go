package devstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresBinDir is where Debian and Ubuntu install the PostgreSQL 15
// server binaries.
const DefaultPostgresBinDir = "/usr/lib/postgresql/15/bin"

// postgresSuperuser is the superuser initdb creates; connections use trust
// auth so it has no password.
const postgresSuperuser = "herald"

const (
	postgresReadyTimeout = 30 * time.Second
	postgresStopGrace    = 30 * time.Second
	// maxUnixSocketPath is sizeof(sockaddr_un.sun_path) minus the NUL on
	// Linux; PostgreSQL refuses to start if its socket path is longer.
	maxUnixSocketPath = 107
)

// PostgresOptions configures StartPostgres.
type PostgresOptions struct {
	// Dir is the data directory. It is initialised with initdb only if it has
	// no PG_VERSION file, so data survives restarts.
	Dir string
	// Port is the TCP port to listen on; 0 picks a free one.
	Port int
	// Database is created if missing. Defaults to "herald".
	Database string
	// BinDir holds initdb and postgres. Defaults to DefaultPostgresBinDir.
	BinDir string
	// Log receives the server's output. nil discards it.
	Log io.Writer
	// Ephemeral trades durability for speed (no fsync, no full-page writes,
	// asynchronous commit). Use it for throwaway test databases only: a crash
	// can corrupt the data directory.
	Ephemeral bool
	// Statements loads pg_stat_statements, so a load run can say which
	// statements the database's time goes to.
	Statements bool
}

// Postgres is a running PostgreSQL server started by StartPostgres.
type Postgres struct {
	// URL connects to Database as the superuser, e.g.
	// postgres://herald@127.0.0.1:5432/herald?sslmode=disable.
	URL string
	// Port is the TCP port the server listens on.
	Port int
	// Dir is the absolute data directory.
	Dir string

	opts PostgresOptions
	proc *process
}

// StartPostgres initialises the data directory if needed, starts postgres as
// a child process, waits until it accepts connections and creates the
// database if it does not exist yet.
//
// When running as root the server runs as the "postgres" system user, because
// PostgreSQL refuses to run as root; the data directory is chowned to that
// user and its ancestors are made traversable (o+x) for it.
func StartPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.Dir == "" {
		return nil, errors.New("devstack: PostgresOptions.Dir is required")
	}
	if opts.Database == "" {
		opts.Database = "herald"
	}
	if opts.BinDir == "" {
		opts.BinDir = DefaultPostgresBinDir
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	for _, name := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, name)); err != nil {
			return nil, fmt.Errorf("PostgreSQL 15 %s not found in %s (install it with `apt-get install postgresql`): %w", name, opts.BinDir, err)
		}
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, err
	}

	cred, err := postgresCredential()
	if err != nil {
		return nil, err
	}
	if err := preparePostgresDir(dir, cred); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, "PG_VERSION")); errors.Is(err, fs.ErrNotExist) {
		if err := initdb(ctx, opts, dir, cred); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if err := checkPostmasterPID(dir, opts.Log); err != nil {
		return nil, err
	}

	// An auto-picked port can be taken by someone else before postgres binds
	// it; that race is worth a couple of retries, a fixed port is not.
	attempts := 1
	if opts.Port == 0 {
		attempts = 3
	}
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = FreePort(); err != nil {
				return nil, err
			}
		}
		pg, err := startPostmaster(ctx, opts, dir, port, cred)
		if err == nil {
			return pg, nil
		}
		var busy *portBusyError
		if attempt >= attempts || !errors.As(err, &busy) {
			return nil, err
		}
	}
}

// Stop asks the server for a fast shutdown (SIGINT: roll back open
// transactions, disconnect clients, checkpoint) and waits for it to exit. It
// is safe to call more than once.
func (p *Postgres) Stop() error {
	return p.proc.stop(syscall.SIGINT, postgresStopGrace, syscall.SIGQUIT, false)
}

// Start starts a server that Stop stopped, on the same directory and port.
func (p *Postgres) Start(ctx context.Context) error {
	opts := p.opts
	opts.Port = p.Port
	next, err := StartPostgres(ctx, opts)
	if err != nil {
		return err
	}
	*p = *next
	return nil
}

// portBusyError marks a start-up failure caused by the port being taken.
type portBusyError struct{ err error }

func (e *portBusyError) Error() string { return e.err.Error() }
func (e *portBusyError) Unwrap() error { return e.err }

func startPostmaster(ctx context.Context, opts PostgresOptions, dir string, port int, cred *syscall.Credential) (*Postgres, error) {
	// Sockets go in the data directory rather than the distribution default
	// (/var/run/postgresql), which may not exist or be writable and would be
	// shared between servers. If the path would be too long for a Unix socket,
	// disable sockets altogether: herald only connects over TCP.
	socketDir := dir
	if len(dir)+len("/.s.PGSQL.65535.lock") > maxUnixSocketPath {
		socketDir = ""
	}
	args := []string{
		"-D", dir,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=" + socketDir,
		"-c", "max_connections=200",
	}
	if opts.Statements {
		args = append(args, "-c", "shared_preload_libraries=pg_stat_statements", "-c", "pg_stat_statements.track=top")
	}
	if opts.Ephemeral {
		args = append(args,
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
		)
	}
	cmd := exec.Command(filepath.Join(opts.BinDir, "postgres"), args...)
	cmd.Dir = dir
	// SIGINT on parent death is a fast shutdown, leaving the data directory
	// clean for the next run.
	cmd.SysProcAttr = sysProcAttr(cred, syscall.SIGINT)
	proc, err := startProcess("postgres", cmd, opts.Log)
	if err != nil {
		return nil, err
	}
	pg := &Postgres{
		URL:  postgresURL(port, opts.Database),
		Port: port,
		Dir:  dir,
		opts: opts,
		proc: proc,
	}
	if err := pg.waitReady(ctx); err != nil {
		_ = proc.stop(syscall.SIGINT, postgresStopGrace, syscall.SIGQUIT, false)
		return nil, err
	}
	if err := pg.ensureDatabase(ctx, opts.Database); err != nil {
		_ = pg.Stop()
		return nil, err
	}
	return pg, nil
}

// waitReady polls until the server accepts connections, it exits, or the
// start-up timeout passes.
func (p *Postgres) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, postgresReadyTimeout)
	defer cancel()
	// The target database may not exist yet; "postgres" always does.
	adminURL := postgresURL(p.Port, "postgres")
	var lastErr error
	for {
		select {
		case <-p.proc.done:
			err := p.proc.exitedEarly()
			if isAddrInUse(p.proc.tail) {
				return &portBusyError{err}
			}
			return err
		default:
		}
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(attemptCtx, adminURL)
		cancelAttempt()
		if err == nil {
			return conn.Close(ctx)
		}
		lastErr = err
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return withTail(fmt.Errorf("postgres on port %d not ready after %s: %w (last error: %v)",
				p.Port, postgresReadyTimeout, err, lastErr), p.proc.tail)
		}
	}
}

func (p *Postgres) ensureDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, postgresURL(p.Port, "postgres"))
	if err != nil {
		return fmt.Errorf("connecting to postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("checking for database %q: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("creating database %q: %w", name, err)
	}
	return nil
}

func postgresURL(port int, database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(postgresSuperuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// postgresCredential returns the identity to run PostgreSQL as: nil (the
// current user) unless we are root, which PostgreSQL refuses to run as.
func postgresCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root, and PostgreSQL refuses to run as root, but there is no postgres system user to run it as (install it with `apt-get install postgresql`): %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user uid %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("postgres user gid %q: %w", u.Gid, err)
	}
	// Leaving Groups empty drops root's supplementary groups.
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// preparePostgresDir creates the data directory with the 0700 mode postgres
// insists on and, when the server runs as another user, hands it over and
// makes sure that user can reach it.
func preparePostgresDir(dir string, cred *syscall.Credential) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating postgres data directory: %w", err)
	}
	// MkdirAll keeps the mode of an existing directory (t.TempDir() makes
	// 0755 ones) and postgres rejects group/world-accessible data dirs.
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("postgres data directory: %w", err)
	}
	if cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
		return fmt.Errorf("handing postgres data directory to the postgres user: %w", err)
	}
	// Directories such as os.MkdirTemp's are 0700 root-owned, which would
	// stop the postgres user from even reaching its data directory. Search
	// permission (x) is enough for that and does not let others list them.
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if mode := fi.Mode().Perm(); mode&0o001 == 0 {
			if err := os.Chmod(p, mode|0o001); err != nil {
				return fmt.Errorf("making %s traversable for the postgres user: %w", p, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func initdb(ctx context.Context, opts PostgresOptions, dir string, cred *syscall.Credential) error {
	args := []string{
		"-D", dir,
		"-U", postgresSuperuser,
		"--auth=trust",
		"--encoding=UTF8",
		// Pin the locale rather than inherit whatever the host or container
		// has (often unset or POSIX): C.UTF-8 gives the same codepoint
		// collation everywhere while still handling non-ASCII in upper/lower.
		"--locale=C.UTF-8",
	}
	if opts.Ephemeral {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(opts.BinDir, "initdb"), args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	// initdb's chatter ends with pg_ctl instructions that do not apply here,
	// so it is only shown when initdb fails.
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb %s: %w\n%s", dir, err, strings.TrimSpace(out.String()))
	}
	fmt.Fprintf(opts.Log, "devstack: initialised PostgreSQL data directory %s\n", dir)
	return nil
}

// checkPostmasterPID turns a postmaster.pid left in dir into either a clear
// error (another server really is using the directory) or nothing (the file
// is stale).
//
// postgres already ignores a stale file whose PID is dead, but after a reboot
// or container restart the PID is often reused by an unrelated process, and
// postgres then refuses to start with a hint about a lock file. We can tell
// the cases apart on Linux: a running postmaster has its data directory as
// its working directory.
func checkPostmasterPID(dir string, log io.Writer) error {
	pidFile := filepath.Join(dir, "postmaster.pid")
	data, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	lines := strings.Split(string(data), "\n")
	// A negative PID marks a single-user backend; postgres handles that case.
	pid, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return nil
	}
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return nil
	}

	inUse := true
	if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil {
		inUse = sameDir(cwd, dir)
	} else if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid)); err == nil {
		inUse = strings.TrimSpace(string(comm)) == "postgres"
	}
	if !inUse {
		fmt.Fprintf(log, "devstack: removing stale %s (PID %d now belongs to another process)\n", pidFile, pid)
		return os.Remove(pidFile)
	}
	port := "unknown"
	if len(lines) > 3 {
		port = strings.TrimSpace(lines[3])
	}
	return fmt.Errorf("postgres data directory %s is in use by another PostgreSQL server (PID %d, port %s); stop it first (e.g. kill -INT %d)", dir, pid, port, pid)
}

func sameDir(a, b string) bool {
	ai, err := os.Stat(a)
	if err != nil {
		return false
	}
	bi, err := os.Stat(b)
	if err != nil {
		return false
	}
	return os.SameFile(ai, bi)
}
