package commands

import (
	"strings"
	"testing"
)

// ports --format json of a machine with nothing forwarded is [], not null.
func TestPortsJSONEmpty(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	stdout, _, err := h.run("ports", "dev", "--format", "json")
	if err != nil || strings.TrimSpace(stdout) != "[]" {
		t.Errorf("ports dev --format json = %q, %v; want []", stdout, err)
	}
}

// config --format gets the machine's Name, as ls and info do.
func TestConfigFormatName(t *testing.T) {
	h := newHarness(t)
	h.machine("dev", "1.0.0")
	stdout, _, err := h.run("config", "dev", "--format", "{{.Name}} {{.CPUs}}")
	if err != nil || strings.TrimSpace(stdout) != "dev 2" {
		t.Errorf("config dev --format '{{.Name}} {{.CPUs}}' = %q, %v; want \"dev 2\"", stdout, err)
	}
}
