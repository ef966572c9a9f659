package machine

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseGuestPhases(t *testing.T) {
	log := strings.Join([]string{
		"tender-agent: phase agent-start 1.00",
		"tender-agent: phase dockerd-ready 9.00",
		"[    3.1] some kernel line",
		"tender-agent: phase agent-start 2.50",
		"garbage tender-agent: phase disk-mounted 4.25\r",
		"tender-agent: phase broken x",
		"tender-agent: phase dockerd-ready 12",
	}, "\n")
	want := []Phase{
		{"guest agent-start", 2500 * time.Millisecond},
		{"guest disk-mounted", 4250 * time.Millisecond},
		{"guest dockerd-ready", 12 * time.Second},
	}
	if got := parseGuestPhases(strings.NewReader(log)); !reflect.DeepEqual(got, want) {
		t.Errorf("parseGuestPhases = %v, want %v", got, want)
	}
	if got := parseGuestPhases(strings.NewReader("")); len(got) != 0 {
		t.Errorf("parseGuestPhases(empty) = %v, want none", got)
	}
}
