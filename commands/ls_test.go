package commands

import (
	"errors"
	"strings"
	"testing"
)

// A machine whose state cannot be read is still listed with what is known;
// its state is shown as unknown, never made up, the reason goes to stderr
// and the exit status says the list is incomplete.
func TestLsWithAnUnreadableState(t *testing.T) {
	h := newHarness(t)
	h.machine("default", "0.1.0")
	h.driver.StateErr = errors.New("VBoxManage showvminfo: object is not ready")
	out, errOut, err := h.run("ls")
	if err == nil {
		t.Fatal("ls succeeded with a state it could not read")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "default") || strings.Fields(lines[1])[2] != "-" || strings.Contains(out, "error") {
		t.Errorf("ls printed:\n%s", out)
	}
	if want := "tender: reading the state of machine \"default\": VBoxManage showvminfo: object is not ready\n"; errOut != want {
		t.Errorf("stderr = %q, want %q", errOut, want)
	}
	out, _, _ = h.run("ls", "--format", "{{.Name}}:{{.State}}:{{.Driver}}:{{.CPUs}}")
	if out != "default::fake:2\n" {
		t.Errorf("template output = %q", out)
	}
}

// A machine whose settings cannot be read (a bad config.yaml) is listed
// with "-" for what is not known, not as a machine of 0 CPUs and 0MiB.
func TestLsWithUnreadableSettings(t *testing.T) {
	h := newHarness(t)
	h.machine("default", "0.1.0")
	h.env["TENDER_CPUS"] = "lots"
	out, errOut, err := h.run("ls")
	if err == nil || !strings.Contains(errOut, "TENDER_CPUS") {
		t.Fatalf("ls with TENDER_CPUS=lots: %v, stderr %q; want exit 1 naming TENDER_CPUS", err, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || strings.Contains(lines[1], "0MiB") || strings.Fields(lines[1])[len(strings.Fields(lines[1]))-2] != "-" {
		t.Errorf("ls printed:\n%s", out)
	}
}
