package contract_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestCallersSeeOnlyTheContract keeps the arrows pointing one way: the API,
// intake and the emitter start, signal and query workflows through this
// package, so none of them may depend on the workflows' implementation, the
// activities or the mailer (which would put SMTP and Slack code in the API
// binary's import graph and make every contract change a workflow change).
func TestCallersSeeOnlyTheContract(t *testing.T) {
	const mod = "github.com/heraldhq/herald/"
	forbidden := []string{"workflows", "activities", "internal/mailer"}
	for _, caller := range []string{"api", "intake", "emitter", "contract"} {
		out, err := exec.Command("go", "list", "-deps", mod+caller).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", caller, err, out)
		}
		deps := map[string]bool{}
		for _, d := range strings.Fields(string(out)) {
			deps[d] = true
		}
		for _, f := range forbidden {
			if deps[mod+f] {
				t.Errorf("%s depends on %s", caller, f)
			}
		}
	}
}
