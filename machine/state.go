package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tenderdev/tender/atomicfile"
)

// Runtime is what tender learned while running a machine, as opposed to what
// the user asked for (machine.yaml). It lives in state.json.
type Runtime struct {
	Driver     string    `json:"driver"`
	SSHPort    int       `json:"ssh_port,omitempty"`
	DockerPort int       `json:"docker_port,omitempty"`
	ISOVersion string    `json:"iso_version,omitempty"`
	BootedAt   time.Time `json:"booted_at,omitzero"`
	ReadyAfter float64   `json:"ready_after_s,omitempty"` // seconds from start to docker answering
	// DiskSizeMiB is the data disk's size as made at init or last grown
	// (Settings.DiskSizeMiB is what it is to be); 0 for machines made
	// before it was recorded.
	DiskSizeMiB int `json:"disk_size_mib,omitempty"`
}

func readRuntime(dir string) (Runtime, error) {
	var r Runtime
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("reading %s: %w", StateFile, err)
	}
	if err := json.Unmarshal(data, &r); err != nil {
		// A broken state file must not lock the user out: the ports are
		// picked again and the file rewritten.
		return Runtime{}, fmt.Errorf("%s is damaged (%v); it will be rewritten by `tender up`", filepath.Join(dir, StateFile), err)
	}
	return r, nil
}

func writeRuntime(dir string, r Runtime) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, StateFile), append(data, '\n'), 0o600)
}
