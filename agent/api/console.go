package api

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Console lines: what the agent (and tender-init before it) prints on the
// serial console, which the host keeps as serial.log. The host reads them to
// know that a boot is ready, how long its phases took and which agent is
// running when SSH cannot say. Every line starts with ConsolePrefix; the
// kernel's messages may be interleaved, even on the same line.
const ConsolePrefix = "tender-agent: "

// Boot phases, in order, printed as "phase NAME SECONDS" with the guest's
// uptime. Stage 1 (tender-init) prints PhaseInitramfsStart to
// PhaseSwitchRoot (and its own PhaseModulesLoaded), the agent as PID 1 the
// rest; a new PhaseAgentStart starts a new boot in the same log.
const (
	PhaseInitramfsStart = "initramfs-start"
	PhaseMediumFound    = "medium-found"
	PhaseRootMounted    = "root-mounted"
	PhaseSwitchRoot     = "switch-root"
	PhaseAgentStart     = "agent-start"
	PhaseModulesLoaded  = "modules-loaded"
	PhaseNetworkUp      = "network-up"
	PhaseDiskMounted    = "disk-mounted"
	PhaseEngineReady    = "engine-ready"
	PhaseSSHDStarted    = "sshd-started"
	PhaseDockerdReady   = "dockerd-ready"
)

// ReadyLine is printed once per boot, alone on its line, when dockerd
// answers.
const ReadyLine = ConsolePrefix + "ready"

// ConsoleLine is any other message of the agent.
func ConsoleLine(msg string) string { return ConsolePrefix + msg }

// PhaseLine marks a boot phase at seconds of guest uptime; NaN, when the
// uptime could not be read, prints "?", which ParseConsoleLine does not
// take for a phase.
func PhaseLine(name string, seconds float64) string {
	if math.IsNaN(seconds) {
		return ConsolePrefix + "phase " + name + " ?"
	}
	return fmt.Sprintf("%sphase %s %.2f", ConsolePrefix, name, seconds)
}

// Stage1Line is stage 1's first line: the version of the image booting.
func Stage1Line(version string) string {
	return ConsolePrefix + "stage 1 (version " + version + ")"
}

// ConsoleKind says what a console line is.
type ConsoleKind int

const (
	ConsoleMessage ConsoleKind = iota // any other agent line
	ConsolePhase                      // PhaseLine
	ConsoleReady                      // ReadyLine
	ConsoleStage1                     // Stage1Line
)

// ConsoleEvent is one agent line read back.
type ConsoleEvent struct {
	Kind    ConsoleKind
	Text    string  // the line after ConsolePrefix
	Phase   string  // ConsolePhase: the phase's name
	Seconds float64 // ConsolePhase: the guest's uptime
	Version string  // ConsoleStage1: the image's version
}

// ParseConsoleLine reads one line of a serial log. ok is false when the
// line holds no agent line.
func ParseConsoleLine(line string) (ev ConsoleEvent, ok bool) {
	i := strings.Index(line, ConsolePrefix)
	if i < 0 {
		return ConsoleEvent{}, false
	}
	text := strings.TrimRight(line[i+len(ConsolePrefix):], " \t\r\n")
	ev = ConsoleEvent{Kind: ConsoleMessage, Text: text}
	switch {
	case text == "ready" && strings.TrimSpace(line[:i]) == "":
		ev.Kind = ConsoleReady
	case strings.HasPrefix(text, "phase "):
		f := strings.Fields(text)
		if len(f) != 3 {
			break
		}
		secs, err := strconv.ParseFloat(f[2], 64)
		if err != nil || secs < 0 || math.IsNaN(secs) || math.IsInf(secs, 0) {
			break
		}
		ev.Kind, ev.Phase, ev.Seconds = ConsolePhase, f[1], secs
	case strings.HasPrefix(text, "stage 1 (version ") && strings.HasSuffix(text, ")"):
		v := strings.TrimSuffix(strings.TrimPrefix(text, "stage 1 (version "), ")")
		if v != "" && !strings.ContainsAny(v, " \t()") {
			ev.Kind, ev.Version = ConsoleStage1, v
		}
	}
	return ev, true
}
