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

// PartitionMonthsAhead is how many months past the current one have their
// partitions made ahead (migration 041): a row past the last partition
// would fail its insert, so this leaves months for retention, which makes
// them hourly, to be down before it matters.
const PartitionMonthsAhead = 3

// partitionsFrom is the first migration that partitions a table.
const partitionsFrom = 41

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
	if to, err = m.GetCurrentVersion(ctx); err != nil {
		return from, to, err
	}
	// Each release is migrated, so a deployment whose retention was paused
	// for a while gets its months ahead made at its next upgrade too.
	if to >= partitionsFrom {
		if _, err := conn.Exec(ctx, "SELECT herald_ensure_partitions($1)", PartitionMonthsAhead); err != nil {
			return from, to, fmt.Errorf("making the partitions ahead: %w", err)
		}
	}
	return from, to, nil
}
