package devstack

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
)

var heraldSearchAttributes = []string{"HeraldTenant", "HeraldEventType", "HeraldStatus"}

// temporalBin locates the CLI built by `make bin/temporal`. A missing binary
// fails rather than skips the test: silently skipping would hide that the
// Temporal integration is untested.
func temporalBin(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "..", "..", "bin", "temporal"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("temporal CLI not found at %s; run `make bin/temporal` first: %v", bin, err)
	}
	return bin
}

func startTestTemporal(t *testing.T, opts TemporalOptions) *Temporal {
	t.Helper()
	opts.Bin = temporalBin(t)
	opts.Log = testLog(t)
	start := time.Now()
	tmp, err := StartTemporal(t.Context(), opts)
	if err != nil {
		t.Fatalf("StartTemporal: %v", err)
	}
	t.Logf("temporal ready at %s in %s", tmp.Address, time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() { _ = tmp.Stop() })
	return tmp
}

// requireKeywordAttributes checks through a fresh client that attrs are
// registered as Keyword in the server's namespace.
func requireKeywordAttributes(t *testing.T, tmp *Temporal, attrs []string) {
	t.Helper()
	c, err := client.Dial(client.Options{HostPort: tmp.Address, Namespace: tmp.Namespace})
	if err != nil {
		t.Fatalf("dialing %s: %v", tmp.Address, err)
	}
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(t.Context(), &operatorservice.ListSearchAttributesRequest{Namespace: tmp.Namespace})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	for _, name := range attrs {
		if got, ok := resp.GetCustomAttributes()[name]; !ok || got != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("search attribute %s: got %v (present %v), want Keyword", name, got, ok)
		}
	}
}

func TestTemporalInMemory(t *testing.T) {
	t.Parallel()
	uiPort, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	tmp := startTestTemporal(t, TemporalOptions{UIPort: uiPort, SearchAttributes: heraldSearchAttributes})
	if tmp.Namespace != "default" {
		t.Errorf("Namespace = %q, want default", tmp.Namespace)
	}
	requireKeywordAttributes(t, tmp, heraldSearchAttributes)

	resp, err := http.Get(tmp.UIURL)
	if err != nil {
		t.Errorf("Web UI at %s: %v", tmp.UIURL, err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Web UI at %s: %s", tmp.UIURL, resp.Status)
		}
	}

	start := time.Now()
	if err := tmp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("temporal stopped in %s", time.Since(start).Round(time.Millisecond))
	if _, err := client.Dial(client.Options{HostPort: tmp.Address}); err == nil {
		t.Errorf("server at %s still answers after Stop", tmp.Address)
	}
}

func TestTemporalDBFileRestart(t *testing.T) {
	t.Parallel()
	dbFile := filepath.Join(t.TempDir(), "temporal.db")
	opts := TemporalOptions{DBFile: dbFile, Namespace: "herald", SearchAttributes: heraldSearchAttributes}

	for run := 1; run <= 2; run++ {
		tmp := startTestTemporal(t, opts)
		requireKeywordAttributes(t, tmp, heraldSearchAttributes)
		if err := tmp.Stop(); err != nil {
			t.Fatalf("run %d: Stop: %v", run, err)
		}
	}

	// The dev server registers --search-attribute only for namespaces it
	// creates, so an attribute added after the database exists must still
	// show up.
	opts.SearchAttributes = append(slices.Clone(heraldSearchAttributes), "HeraldAddedLater")
	tmp := startTestTemporal(t, opts)
	requireKeywordAttributes(t, tmp, opts.SearchAttributes)
	if err := tmp.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestTemporalMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := StartTemporal(t.Context(), TemporalOptions{Bin: filepath.Join(t.TempDir(), "temporal")})
	if err == nil {
		t.Fatal("StartTemporal with a missing binary succeeded")
	}
	if want := "make bin/temporal"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}
