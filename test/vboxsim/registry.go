//go:build unix

package main

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// homeEnv names the directory where the simulator keeps its registry
// (VirtualBox keeps it in ~/.config/VirtualBox/VirtualBox.xml).
const homeEnv = "VBOXSIM_HOME"

// VM is one registered machine: its settings and its run state.
type VM struct {
	UUID             string
	Name             string
	Dir              string // basefolder/NAME: settings, Logs/, Snapshots/
	State            string // poweroff, running, paused, saved, aborted
	StateChange      time.Time
	OSType           string
	Memory           int
	CPUs             int
	ACPI             string
	IOAPIC           string
	RTCUseUTC        string
	Paravirt         string
	Boot             [4]string
	NIC              [8]string // nat, intnet, hostonly, …; "" or "none" is a disabled NIC
	NICType          [8]string
	MACAddress       [8]string // 12 upper-case hex digits, as VirtualBox stores them
	CableConnected   [8]string // "on" or "off"; "" is on (a new NIC's cable is connected)
	IntNet           [8]string // the internal network of an intnet NIC
	HostOnlyAdapter  [8]string
	Forwarding       []string // NIC 1's NAT rules, name,proto,hostip,hostport,guestip,guestport
	UART1            string   // "off" or "0x3F8 4"
	UARTMode1        string   // "file PATH", "disconnected", …
	Controllers      []Controller
	Attachments      map[string]Attachment // "SATA-0-0"
	SharedFolders    []SharedFolder
	ExtraData        map[string]string
	SaveFile         string // the saved state, when saved
	VMProcess        int    // pid of the VM process (the supervisor of QEMU)
	PoweroffExpected bool   // controlvm poweroff/savestate is ending the VM
}

// Controller is a storage controller.
type Controller struct {
	Name      string
	Bus       string // sata, ide, …
	Chip      string
	PortCount int
	Bootable  string
}

// Attachment is a medium on a controller port.
type Attachment struct {
	Type   string // dvddrive, hdd
	Medium string
}

// SharedFolder is a folder shared with the guest.
type SharedFolder struct {
	Name      string
	HostPath  string
	AutoMount bool
	ReadOnly  bool
}

// HostOnly is a host-only interface. Its DHCP server, if any, is the one
// of the network HostInterfaceNetworking-NAME.
type HostOnly struct {
	Name    string
	IP      string
	Mask    string
	Created time.Time
}

// DHCPServer is one of VirtualBox's DHCP servers, which belong to networks,
// not to VMs: a host-only interface's (NetworkName
// HostInterfaceNetworking-IF) or an internal network's (its name). It stays
// when the VMs on the network are gone, with its individual configs.
type DHCPServer struct {
	NetworkName            string
	IP, Mask, Lower, Upper string
	Enabled                bool
	Hosts                  []HostConfig // individual configs by MAC, in the order they were added
}

// HostConfig is a DHCP server's individual config of one MAC address.
type HostConfig struct {
	MAC          string // lower-case and colon-separated, as VirtualBox prints it
	FixedAddress string // "" is a dynamic address
}

type registry struct {
	home        string
	VMs         []*VM
	HostOnly    []*HostOnly
	DHCPServers []*DHCPServer
}

// home is $VBOXSIM_HOME, or ~/.vboxsim.
func home() (string, error) {
	if h := os.Getenv(homeEnv); h != "" {
		return filepath.Abs(h)
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("set %s: %w", homeEnv, err)
	}
	return filepath.Join(h, ".vboxsim"), nil
}

// openRegistry locks the registry for the whole command (like VBoxSVC
// serializing API calls) and loads it, settling VMs whose process ended.
func openRegistry() (*registry, func(), error) {
	h, err := home()
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(h, "run"), 0o755); err != nil {
		return nil, nil, err
	}
	lock, err := os.OpenFile(filepath.Join(h, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, nil, err
	}
	unlock := func() { lock.Close() }
	r := &registry{home: h}
	data, err := os.ReadFile(filepath.Join(h, "registry.json"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		unlock()
		return nil, nil, err
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, r); err != nil {
			unlock()
			return nil, nil, fmt.Errorf("the simulator's registry %s is damaged: %w", filepath.Join(h, "registry.json"), err)
		}
	}
	for _, v := range r.VMs {
		r.settle(v)
	}
	return r, unlock, nil
}

func (r *registry) save() error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(r.home, "registry.json.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(r.home, "registry.json"))
}

// exitFile is where the VM process writes how QEMU ended.
func (r *registry) exitFile(v *VM) string { return filepath.Join(r.home, "run", v.UUID+".exit") }

// qmpSocket is the VM's QEMU monitor.
func (r *registry) qmpSocket(v *VM) string { return filepath.Join(r.home, "run", v.UUID+".qmp") }

// settle turns a running or paused VM whose process is gone into
// poweroff (the guest powered off) or aborted (QEMU failed or was killed).
func (r *registry) settle(v *VM) {
	if v.State != "running" && v.State != "paused" {
		return
	}
	if v.VMProcess > 0 && alive(v.VMProcess) {
		return
	}
	how, _ := os.ReadFile(r.exitFile(v))
	if strings.TrimSpace(string(how)) == "poweroff" {
		v.setState("poweroff")
	} else {
		v.setState("aborted")
	}
	v.VMProcess = 0
	os.Remove(r.exitFile(v))
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // not Linux: kill(0) is all we have
	}
	if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

func (v *VM) setState(s string) {
	v.State = s
	v.StateChange = time.Now().UTC()
}

// settingsFile is the VM's .vbox file.
func (v *VM) settingsFile() string { return filepath.Join(v.Dir, v.Name+".vbox") }

// find looks a VM up by name or UUID, failing like VBoxManage.
func (r *registry) find(nameOrUUID, file string, line int) (*VM, error) {
	for _, v := range r.VMs {
		if v.Name == nameOrUUID || v.UUID == nameOrUUID {
			return v, nil
		}
	}
	return nil, failf("Could not find a registered machine named '%s'", nameOrUUID).
		details("VBOX_E_OBJECT_NOT_FOUND (0x80bb0001)", "VirtualBoxWrap", "IVirtualBox").
		context("FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())", file, line)
}

func (r *registry) remove(v *VM) {
	for i, x := range r.VMs {
		if x == v {
			r.VMs = append(r.VMs[:i], r.VMs[i+1:]...)
			return
		}
	}
}

func newUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// lockedError is VirtualBox's answer to changing a VM that runs.
func lockedError(v *VM, file string, line int) *vboxError {
	return failf("The machine '%s' is already locked for a session (or being unlocked)", v.Name).
		details("VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)", "MachineWrap", "IMachine").
		context("LockMachine(a->session, LockType_Write)", file, line)
}

// mutable fails unless the VM's settings may change: not while it runs
// (session locked), not while saved.
func mutable(v *VM, file string, line int) error {
	switch v.State {
	case "running", "paused":
		return lockedError(v, file, line)
	case "saved":
		return failf("The machine is not mutable (state is Saved)").
			details("VBOX_E_INVALID_VM_STATE (0x80bb0002)", "SessionMachine", "IMachine")
	}
	return nil
}

// sortedRules returns the rules in VirtualBox's order (by name).
func sortedRules(rules []string) []string {
	out := append([]string(nil), rules...)
	sort.Strings(out)
	return out
}
