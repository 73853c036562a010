package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// asMain makes the test binary run herald's main when a test starts it with
// this variable set, so exit codes are checked as a shell sees them.
const asMain = "HERALD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMain) == "1" {
		os.Args = append([]string{"herald"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestEverySubcommandHelpExitsZero runs "herald CMD [SUB] --help" (and -h)
// for every command and every form of it, with no configuration: each
// prints its usage to stdout and exits 0, before any connection.
func TestEverySubcommandHelpExitsZero(t *testing.T) {
	t.Parallel()
	var calls [][]string
	for _, c := range commands {
		calls = append(calls, []string{c.name})
		for _, f := range c.forms {
			if sub, _, _ := strings.Cut(f.args, " "); sub != "" && !strings.HasPrefix(sub, "[") && !strings.HasPrefix(sub, "-") {
				calls = append(calls, []string{c.name, sub})
			}
		}
	}
	if len(calls) < 11 { // seven commands, tenant create, apikey's three, audit verify
		t.Fatalf("found only %d calls to try: %v", len(calls), calls)
	}
	for _, call := range calls {
		for _, flag := range []string{"--help", "-h"} {
			args := append(append([]string{}, call...), flag)
			cmd := exec.Command(os.Args[0], args...)
			// No HERALD_* variable: help needs no configuration.
			cmd.Env = []string{asMain + "=1", "PATH=" + os.Getenv("PATH")}
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if err != nil {
				t.Errorf("herald %s: %v (stderr %q)", strings.Join(args, " "), err, stderr.String())
				continue
			}
			out := stdout.String()
			if !strings.Contains(out, "Usage") || !strings.Contains(out, "herald "+call[0]) {
				t.Errorf("herald %s printed %q, want its usage", strings.Join(args, " "), out)
			}
		}
	}
}

// A form's arguments that are not a help flag still reach the command.
func TestHelpFlagAfterDoubleDash(t *testing.T) {
	t.Parallel()
	_, _, err := runHerald([]string{"apikey", "revoke", "--", "--help"}, nil)
	if err == nil || strings.Contains(err.Error(), "Usage") {
		t.Errorf("apikey revoke -- --help: err = %v, want a usage error, not the help", err)
	}
}
