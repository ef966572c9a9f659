package virtualbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tenderdev/tender/atomicfile"
	"github.com/tenderdev/tender/vm"
)

// StateFile is the driver's record of the last transition tender made,
// inside the machine directory. State reads it instead of running
// VBoxManage (see doc.go).
const StateFile = "virtualbox.json"

// record is StateFile's content.
type record struct {
	VM    string   `json:"vm"`
	UUID  string   `json:"uuid,omitempty"`
	State vm.State `json:"state"` // stopped, running, paused or saved
	// Stopping is set when the power button was pressed: the VM is
	// expected to power itself off, so a closed port then means stopped
	// rather than aborted.
	Stopping bool      `json:"stopping,omitempty"`
	Changed  time.Time `json:"changed"`
	// HostOnly is the host-only interface NIC 2 uses, if any.
	HostOnly string `json:"hostonly,omitempty"`
}

func readRecord(dir string) (record, error) {
	var r record
	data, err := os.ReadFile(filepath.Join(dir, StateFile))
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("%s is damaged: %w", StateFile, err)
	}
	return r, nil
}

// writeRecord replaces the record atomically.
func writeRecord(dir string, r record) error {
	r.Changed = time.Now().UTC().Truncate(time.Second)
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, StateFile), append(data, '\n'), 0o600)
}

// updateRecord changes the recorded state, keeping the rest.
func updateRecord(s vm.Spec, st vm.State, stopping bool) error {
	r, err := readRecord(s.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		r = record{} // a damaged record is rewritten
	}
	r.VM, r.State, r.Stopping = vm.Name(s.Name), st, stopping
	return writeRecord(s.Dir, r)
}

// portOpen is the liveness check: a TCP connect to the forwarded SSH port.
// VirtualBox's NAT listens on it for as long as the VM process runs, before
// the guest's sshd is up.
func portOpen(port int) bool {
	if port == 0 {
		return false
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 300*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// localState is State's answer from the record and the port.
func localState(r record, port int, open func(int) bool) vm.State {
	switch r.State {
	case vm.Running, vm.Starting:
		if port == 0 || open(port) {
			return r.State
		}
		if r.Stopping {
			return vm.Stopped
		}
		return vm.Aborted
	case vm.Paused, vm.Saved:
		return r.State
	}
	return vm.Stopped
}
