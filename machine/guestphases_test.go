package machine

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

func TestParseGuestPhases(t *testing.T) {
	log := strings.Join([]string{
		api.PhaseLine(api.PhaseAgentStart, 1),
		api.PhaseLine(api.PhaseDockerdReady, 9),
		"[    3.1] some kernel line",
		api.PhaseLine(api.PhaseAgentStart, 2.5),
		"garbage " + api.PhaseLine(api.PhaseDiskMounted, 4.25) + "\r",
		api.ConsoleLine("phase broken x"),
		api.PhaseLine(api.PhaseDockerdReady, 12),
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
