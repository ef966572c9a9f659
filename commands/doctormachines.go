package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenderdev/tender/doctor"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/machine"
)

// clockSlack is the guest clock offset doctor lets pass: the host agent
// corrects anything larger within seconds.
const clockSlack = 2 * time.Second

// machineChecks are doctor's checks of the machines under TENDER_HOME:
// each one readable, its image there and intact, the ports it pins free,
// and a running one's clock right.
func machineChecks(ctx context.Context, st *machine.Store) []doctor.Check {
	var out []doctor.Check
	cached := filepath.Join(st.Home, machine.CacheDir, iso.FileName)
	if _, err := os.Stat(cached); err == nil {
		out = append(out, imageCheck("cached image", cached, "run `tender download` to fetch it again"))
	}
	names, err := st.List()
	if err != nil {
		return append(out, doctor.Check{Name: "machines", Level: doctor.Problem, Detail: err.Error()})
	}
	checkedImages := map[string]bool{cached: true}
	for _, name := range names {
		label := fmt.Sprintf("machine %q", name)
		status, err := st.Status(ctx, name)
		if err != nil {
			out = append(out, doctor.Check{Name: label, Level: doctor.Problem, Detail: err.Error()})
			continue
		}
		m := status.Machine
		if m.IsServer() {
			out = append(out, doctor.Check{Name: label, Level: doctor.OK, Detail: fmt.Sprintf("the server %s, %s", m.Settings.SSHHost, status.State)})
			continue
		}
		fix := fmt.Sprintf("run `tender upgrade%s` (the latest image) or `tender upgrade --iso PATH%s`", machine.NameArg(name), machine.NameArg(name))
		if _, err := os.Stat(m.Settings.ISO); errors.Is(err, os.ErrNotExist) {
			out = append(out, doctor.Check{Name: label, Level: doctor.Problem, Detail: "its image " + m.Settings.ISO + " is gone", Fix: fix})
			continue
		}
		if !checkedImages[m.Settings.ISO] {
			checkedImages[m.Settings.ISO] = true
			if c := imageCheck(label+" image", m.Settings.ISO, fix); c.Level != doctor.OK {
				out = append(out, c)
				continue
			}
		}
		if taken := m.TakenPinnedPorts(status.State); len(taken) > 0 {
			out = append(out, doctor.Check{Name: label, Level: doctor.Problem, Detail: "pinned port in use by another program: " + strings.Join(taken, ", "), Fix: "stop that program, or set the port to 0 (a free one) in " + filepath.Join(m.Dir, machine.MachineFile)})
			continue
		}
		c := doctor.Check{Name: label, Level: doctor.OK, Detail: string(status.State)}
		if status.State == machine.Running {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			off, err := m.ClockOffset(cctx)
			cancel()
			switch {
			case err != nil:
				c = doctor.Check{Name: label, Level: doctor.Warning, Detail: "running, but its clock could not be read: " + err.Error()}
			case off > clockSlack || off < -clockSlack:
				c = doctor.Check{Name: label, Level: doctor.Warning, Detail: fmt.Sprintf("running, its clock %s off the host's", off.Round(time.Millisecond)), Fix: fmt.Sprintf("run `tender up%s` (it restarts the host agent, which keeps the clock)", machine.NameArg(name))}
			default:
				c.Detail = fmt.Sprintf("running, clock within %s", clockSlack)
			}
		}
		out = append(out, c)
	}
	return out
}

// imageCheck verifies an image against its sha256.
func imageCheck(name, path, fix string) doctor.Check {
	checked, err := iso.Verify(path)
	switch {
	case err != nil:
		return doctor.Check{Name: name, Level: doctor.Problem, Detail: err.Error(), Fix: fix}
	case checked:
		return doctor.Check{Name: name, Level: doctor.OK, Detail: path + " (sha256 verified)"}
	}
	return doctor.Check{Name: name, Level: doctor.OK, Detail: path}
}
