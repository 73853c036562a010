package db

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// ServiceGroup is the NOLOGIN role the migrations grant exactly what
// herald serve and herald worker need; the service logs in as a member.
const ServiceGroup = "herald_service"

// ServiceLogin is the member of ServiceGroup that make dev and the test
// stacks run the service as.
const ServiceLogin = "herald_app"

// EnsureServiceLogin makes login a LOGIN member of ServiceGroup (unless it
// is one already) on the migrated database at ownerURL, and returns
// ownerURL with login as its user and no password: it is for clusters with
// trust authentication on loopback (make dev, the tests). Deployments with
// passwords make the role themselves (docker-compose.yml shows how). A
// login that is a superuser, or may bypass row security or create roles,
// is refused: it would be the service with the keys to everything.
func EnsureServiceLogin(ctx context.Context, ownerURL, login string) (string, error) {
	u, err := url.Parse(ownerURL)
	if err != nil {
		return "", fmt.Errorf("the database URL: %w", err)
	}
	conn, err := pgx.Connect(ctx, ownerURL)
	if err != nil {
		return "", fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(ctx)
	role := pgx.Identifier{login}.Sanitize()
	var super, bypass, createRole bool
	err = conn.QueryRow(ctx, `SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = $1`, login).Scan(&super, &bypass, &createRole)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Two processes may make it at once; the loser finds it made.
		if _, err := conn.Exec(ctx, "CREATE ROLE "+role+" LOGIN"); err != nil && !isDuplicate(err) {
			return "", fmt.Errorf("creating the service role %s: %w", login, err)
		}
	case err != nil:
		return "", fmt.Errorf("looking up the service role %s: %w", login, err)
	case super || bypass || createRole:
		return "", fmt.Errorf("the service role %s is a superuser or may bypass row security or create roles; the service must run as a role that may not", login)
	}
	if _, err := conn.Exec(ctx, "GRANT "+pgx.Identifier{ServiceGroup}.Sanitize()+" TO "+role); err != nil {
		return "", fmt.Errorf("making %s a member of %s: %w", login, ServiceGroup, err)
	}
	u.User = url.User(login)
	return u.String(), nil
}

func isDuplicate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42710" // duplicate_object
}
