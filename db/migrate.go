// Package db holds Herald's schema migrations, its SQL queries and, in dbq,
// the sqlc-generated code over them.
package db

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable records which migrations have run.
const versionTable = "herald_schema_version"

// Migrate brings the database at url up to the newest schema. Concurrent
// callers are serialised by tern's advisory lock, so every process may call it.
func Migrate(ctx context.Context, url string) (from, to int32, err error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, 0, fmt.Errorf("connecting to the database: %w", err)
	}
	defer conn.Close(ctx)
	m, err := migrate.NewMigrator(ctx, conn, versionTable)
	if err != nil {
		return 0, 0, err
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return 0, 0, err
	}
	if err := m.LoadMigrations(sub); err != nil {
		return 0, 0, fmt.Errorf("loading migrations: %w", err)
	}
	if from, err = m.GetCurrentVersion(ctx); err != nil {
		return 0, 0, err
	}
	if err := m.Migrate(ctx); err != nil {
		return from, 0, fmt.Errorf("migrating: %w", err)
	}
	to, err = m.GetCurrentVersion(ctx)
	return from, to, err
}
