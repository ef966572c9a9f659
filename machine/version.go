package machine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// Versions are the three versions of one machine that must agree: this
// tender's, the boot image's (its volume ID, tender-vX.Y.Z) and the running
// guest agent's.
type Versions struct {
	CLI   string `json:"cli"`
	Image string `json:"image,omitempty"`
	Agent string `json:"agent,omitempty"` // empty when the machine is not running or did not say
}

// Advice lists the mismatches that matter, each with its fix. Versions that
// are not X.Y[.Z] (a development build) are compared with nothing; a
// difference in the patch number alone does not matter.
func (v Versions) Advice(name string) []string {
	var out []string
	if v.Agent != "" && v.Image != "" && v.Agent != v.Image {
		out = append(out, fmt.Sprintf("machine %q runs tender image %s but is set to boot %s: restart it with `tender restart%s`", name, v.Agent, v.Image, NameArg(name)))
	}
	guest := v.Agent
	if guest == "" {
		guest = v.Image
	}
	cmp, ok := compareMinor(guest, v.CLI)
	switch {
	case !ok:
	case cmp < 0:
		out = append(out, fmt.Sprintf("machine %q runs tender image %s, older than this tender %s: run `tender upgrade%s`", name, guest, v.CLI, NameArg(name)))
	case cmp > 0:
		out = append(out, fmt.Sprintf("machine %q runs tender image %s, newer than this tender %s: update tender (`brew upgrade tender`, or `go install github.com/tenderdev/tender@latest`)", name, guest, v.CLI))
	}
	return out
}

// compareMinor compares two versions by major and minor number.
func compareMinor(a, b string) (int, bool) {
	am, an, aok := majorMinor(a)
	bm, bn, bok := majorMinor(b)
	if !aok || !bok {
		return 0, false
	}
	switch {
	case am != bm:
		return sign(am - bm), true
	default:
		return sign(an - bn), true
	}
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// majorMinor reads "1.2", "v1.2.3" or "1.2.3-rc1+abc".
func majorMinor(v string) (major, minor int, ok bool) {
	v = strings.TrimPrefix(v, "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, false
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0, 0, false
		}
		nums[i] = n
	}
	return nums[0], nums[1], true
}

// AgentVersion asks the running guest's agent for its version over SSH
// (`tender-agent version`) and, when that fails, reads the agent's console
// line from the serial log of the current boot.
func (m *Machine) AgentVersion(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var sshErr error
	if c, err := m.Dial(ctx); err == nil {
		out, err := c.Agent(ctx, api.Version())
		c.Close()
		if v := strings.TrimSpace(string(out)); err == nil && v != "" {
			return v, nil
		}
		sshErr = err
	} else {
		sshErr = err
	}
	if v := AgentVersionFromLog(filepath.Join(m.Dir, SerialLog)); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("asking the guest agent for its version: %w", sshErr)
}

// AgentVersionFromLog returns the version in the last stage-1 line of a
// serial log (api.Stage1Line), or "".
func AgentVersionFromLog(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	version := ""
	scanConsole(f, func(ev api.ConsoleEvent) {
		if ev.Kind == api.ConsoleStage1 {
			version = ev.Version
		}
	})
	return version
}
