package e2e

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"testing"

	"github.com/heraldhq/herald/internal/app"

	"github.com/google/uuid"
)

func mustUUID(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func revoke(key string) error {
	_, err := app.RevokeAPIKey(context.Background(), env.pool, key)
	return err
}

// recordHistory saves a workflow's history as a replay fixture for the
// workflows package when HERALD_RECORD_HISTORIES=1; replay tests then prove
// later code still replays histories of this version.
func recordHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	if os.Getenv("HERALD_RECORD_HISTORIES") != "1" {
		return
	}
	ctx := context.Background()
	hist := &historypb.History{}
	iter := env.temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("..", "workflows", "testdata", name+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func appDev(ctx context.Context, getenv func(string) string, dataDir string, out io.Writer, log *slog.Logger) error {
	return app.Dev(ctx, getenv, app.DevOptions{DataDir: dataDir, TemporalBin: "../bin/temporal", Log: log, Out: out})
}
