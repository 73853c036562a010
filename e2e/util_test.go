package e2e

import (
	"context"
	"errors"
	"io"
	"io/fs"
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

// historyVersion names the release whose histories recordHistory saves:
// workflows/testdata/<version>/. Each released version keeps its files.
const historyVersion = "v6"

// recordHistory saves a workflow's history as a replay fixture for the
// workflows package when HERALD_RECORD_HISTORIES=1; replay tests then prove
// later code still replays histories of this version. A fixture is never
// overwritten: a shipped version's histories are what running workflows have.
// historyOf is a workflow's whole history, its latest run's.
func historyOf(t *testing.T, workflowID string) []*historypb.HistoryEvent {
	t.Helper()
	return historyOfRun(t, workflowID, "")
}

// historyOfRun is one run's history ("" for the latest run).
func historyOfRun(t *testing.T, workflowID, runID string) []*historypb.HistoryEvent {
	t.Helper()
	var events []*historypb.HistoryEvent
	it := env.temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	return events
}

func recordHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	recordRunHistory(t, workflowID, "", name)
}

// recordRunHistory is recordHistory for one run of a workflow (runID "" is
// the latest): a run that continued as new is replayed apart from the run
// it started.
func recordRunHistory(t *testing.T, workflowID, runID, name string) {
	t.Helper()
	if os.Getenv("HERALD_RECORD_HISTORIES") != "1" {
		return
	}
	hist := &historypb.History{Events: historyOfRun(t, workflowID, runID)}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "workflows", "testdata", historyVersion)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".json"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		t.Logf("replay fixture %s/%s.json exists; not overwritten", historyVersion, name)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func appDev(ctx context.Context, getenv func(string) string, dataDir string, out io.Writer, log *slog.Logger) error {
	return app.Dev(ctx, getenv, app.DevOptions{DataDir: dataDir, TemporalBin: "../bin/temporal", Log: log, Out: out})
}
