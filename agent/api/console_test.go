package api

import (
	"math"
	"testing"
)

// The writers and the parser are one format: what one writes the other reads.
func TestConsoleRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		line string
		want ConsoleEvent
	}{
		{PhaseLine(PhaseDockerdReady, 9.004), ConsoleEvent{Kind: ConsolePhase, Text: "phase dockerd-ready 9.00", Phase: "dockerd-ready", Seconds: 9}},
		{ReadyLine, ConsoleEvent{Kind: ConsoleReady, Text: "ready"}},
		{Stage1Line("0.4.1"), ConsoleEvent{Kind: ConsoleStage1, Text: "stage 1 (version 0.4.1)", Version: "0.4.1"}},
		{ConsoleLine("data disk: formatting /dev/vda"), ConsoleEvent{Kind: ConsoleMessage, Text: "data disk: formatting /dev/vda"}},
	} {
		got, ok := ParseConsoleLine(tc.line)
		if !ok || got != tc.want {
			t.Errorf("ParseConsoleLine(%q) = %+v, %v; want %+v", tc.line, got, ok, tc.want)
		}
	}
	if got, want := PhaseLine("switch-root", math.NaN()), "tender-agent: phase switch-root ?"; got != want {
		t.Errorf("PhaseLine(NaN) = %q, want %q", got, want)
	}
}

// Lines as serial logs hold them: kernel messages interleaved, CRs, and
// the agent's own error lines, which are messages, not phases.
func TestParseConsoleLine(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
		kind ConsoleKind
		name string
		secs float64
		ver  string
	}{
		{"tender-agent: phase agent-start 1.00", true, ConsolePhase, "agent-start", 1, ""},
		{"[    3.1] virtio_net: tender-agent: phase network-up 3.25\r", true, ConsolePhase, "network-up", 3.25, ""},
		{"tender-agent: phase dockerd-ready 12", true, ConsolePhase, "dockerd-ready", 12, ""},
		{"tender-agent: phase broken x", true, ConsoleMessage, "", 0, ""},
		{"tender-agent: phase switch-root ?", true, ConsoleMessage, "", 0, ""},
		{"tender-agent: phase too many 1.0 fields", true, ConsoleMessage, "", 0, ""},
		{"tender-agent: phase neg -1.5", true, ConsoleMessage, "", 0, ""},
		{"tender-agent: ready", true, ConsoleReady, "", 0, ""},
		{"tender-agent: ready\r", true, ConsoleReady, "", 0, ""},
		{"tender-agent: ready for more", true, ConsoleMessage, "", 0, ""},
		{"tender-agent: stage 1 (version v0.3.0-rc1)", true, ConsoleStage1, "", 0, "v0.3.0-rc1"},
		{"tender-agent: stage 1 (version )", true, ConsoleMessage, "", 0, ""},
		{"tender-agent: stage 1 (version a b)", true, ConsoleMessage, "", 0, ""},
		{"Kernel panic - not syncing: VFS", false, 0, "", 0, ""},
		{"", false, 0, "", 0, ""},
	} {
		ev, ok := ParseConsoleLine(tc.line)
		if ok != tc.ok || ev.Kind != tc.kind || ev.Phase != tc.name || ev.Seconds != tc.secs || ev.Version != tc.ver {
			t.Errorf("ParseConsoleLine(%q) = %+v, %v; want ok %v kind %d phase %q %v version %q", tc.line, ev, ok, tc.ok, tc.kind, tc.name, tc.secs, tc.ver)
		}
	}
}
