package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A TENDER_HOME that is a file is one line naming TENDER_HOME, for every
// command, status included (it said not-created, exit 0).
func TestTenderHomeIsAFile(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	h.env["TENDER_HOME"] = file
	for _, args := range [][]string{{"status"}, {"ls"}, {"init", "x"}, {"delete", "-f", "x"}, {"shellinit"}, {"config"}} {
		_, _, err := h.run(args...)
		if err == nil || !strings.Contains(err.Error(), "TENDER_HOME "+file+" is a file") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q with TENDER_HOME a file: %v, want one line naming TENDER_HOME", args, err)
		}
	}
}
