package virtualbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/iso"
	"github.com/tenderdev/tender/runner"
	"github.com/tenderdev/tender/vm"
)

// Driver runs each machine as a VirtualBox VM named tender-NAME, registered
// with its files in the machine directory, through VBoxManage.
type Driver struct {
	// Runner runs VBoxManage. A runner.CallRunner (runner.Exec is one) is
	// needed to create the disk and to see errors VBoxManage reports on
	// stderr with exit code 0.
	Runner runner.Runner
	// VBoxManage is the configured program (`--vbm`, the `vbm` key); ""
	// searches (see Find).
	VBoxManage string
	// Lookup finds VBoxManage; the zero value looks on this host.
	Lookup Lookup
	// HostOnly, when not empty, adds a host-only NIC with this host
	// address and prefix (DefaultHostOnly is the usual choice).
	HostOnly string
	// Sleep pauses between retries and polls; nil is time.Sleep.
	Sleep func(time.Duration)
	// PortOpen is State's liveness check; nil dials 127.0.0.1.
	PortOpen func(port int) bool
}

var (
	_ vm.Driver      = (*Driver)(nil)
	_ vm.Resetter    = (*Driver)(nil)
	_ vm.Saver       = (*Driver)(nil)
	_ vm.Forwarder   = (*Driver)(nil)
	_ vm.Preflighter = (*Driver)(nil)
	_ vm.DiskCreator = (*Driver)(nil)
)

// New returns a driver that runs VBoxManage (configured path, or searched
// when "") through r.
func New(r runner.Runner, vbm string) *Driver { return &Driver{Runner: r, VBoxManage: vbm} }

// Name is "virtualbox".
func (d *Driver) Name() string { return "virtualbox" }

// DiskFile is the data disk's name: VirtualBox wants a VMDK.
func (d *Driver) DiskFile() string { return "disk.vmdk" }

func (d *Driver) lookup() Lookup {
	if d.Lookup.LookPath == nil {
		return HostLookup()
	}
	return d.Lookup
}

// manage finds VBoxManage and returns the wrapper that runs it.
func (d *Driver) manage() (*manage, error) {
	l := d.lookup()
	path, err := Find(d.VBoxManage, l)
	if err != nil {
		return nil, err
	}
	return &manage{path: path, goos: l.GOOS, runner: d.Runner, unset: UnsetEnv(l.GOOS), sleep: d.Sleep}, nil
}

// notFound explains a VM missing from VirtualBox, matching vm.ErrNotFound.
func notFound(s vm.Spec, err error) error {
	arg := ""
	if s.Name != "default" {
		arg = " " + s.Name
	}
	return fmt.Errorf("VirtualBox has no VM %q for machine %q (was it deleted in VirtualBox?): run `tender delete%s` to clean up, then `tender init%s`: %w",
		vm.Name(s.Name), s.Name, arg, arg, err)
}

// info runs showvminfo; a VM that is not registered is an error matching
// vm.ErrNotFound with the delete/init hint.
func (d *Driver) info(ctx context.Context, m *manage, s vm.Spec) (VMInfo, error) {
	out, err := m.run(ctx, showVMInfoArgs(vm.Name(s.Name))...)
	if err != nil {
		if errors.Is(err, vm.ErrNotFound) {
			return VMInfo{}, notFound(s, err)
		}
		return VMInfo{}, err
	}
	return ParseVMInfo(out)
}

// Preflight checks, before init makes anything, that VBoxManage is there
// and new enough, that the ISO is an ISO, that the host-only network is
// allowed, and that no VM named tender-NAME is registered already (left by
// an earlier machine: tender does not touch it).
func (d *Driver) Preflight(ctx context.Context, s vm.Spec) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	out, err := m.run(ctx, versionArgs()...)
	if err != nil {
		return err
	}
	v, err := ParseVersion(out)
	if err != nil {
		return err
	}
	if err := CheckVersion(v); err != nil {
		return err
	}
	if err := iso.Check(s.ISO); err != nil {
		return err
	}
	if d.HostOnly != "" {
		if _, err := ParseHostOnly(d.HostOnly, d.lookup().GOOS, false); err != nil {
			return err
		}
	}
	if _, err := d.checkNetwork(s); err != nil {
		return err
	}
	out, err = m.run(ctx, listVMsArgs()...)
	if err != nil {
		return err
	}
	vms, err := ParseVMList(out)
	if err != nil {
		return err
	}
	for _, v := range vms {
		if v.Name == vm.Name(s.Name) {
			return fmt.Errorf("VirtualBox already has a VM named %q {%s}, which this machine would use; if it is left from an earlier tender machine, remove it with `VBoxManage unregistervm %s --delete`, then run init again", v.Name, v.UUID, v.Name)
		}
	}
	return nil
}

// CreateDisk makes the data disk as a VMDK at s.Disk with
// `convertfromraw stdin FILE SIZE --format VMDK`, fed exactly size bytes of
// userdata (the userdata tar, then zeros).
func (d *Driver) CreateDisk(ctx context.Context, s vm.Spec, userdata io.Reader, size int64) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	if _, err := m.call(ctx, &exactly{r: userdata, left: size}, convertFromRawArgs(s.Disk, size)...); err != nil {
		return fmt.Errorf("creating the data disk: %w", err)
	}
	return nil
}

// uuidLine is the UUID line of `VBoxManage createvm` output. It is compiled on
// first use, as are this package's other regexps: package initialisation
// runs for every tender command, `tender shellinit` in each new shell
// included.
var uuidLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^UUID:\s*([0-9a-fA-F-]+)`)
})

// Create registers the VM: createvm in the machine directory, modifyvm
// (hardware, NAT on virtio, the serial log, port rules when the ports are
// known), the optional host-only NIC or the NIC on the tender network, the
// SATA controller with the ISO and the data disk, and the shared folders
// with symlinks allowed; on a tender network, then, the internal network's
// DHCP server (added unless there is one) and the machine's fixed address
// on it. On a VM that is already registered it does nothing.
func (d *Driver) Create(ctx context.Context, s vm.Spec) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	name := vm.Name(s.Name)
	if _, err := d.info(ctx, m, s); err == nil {
		return nil
	} else if !errors.Is(err, vm.ErrNotFound) {
		return err
	}
	plan, err := d.checkNetwork(s)
	if err != nil {
		return err
	}
	out, err := m.run(ctx, createVMArgs(s.Dir, name)...)
	if err != nil {
		return err
	}
	rec := record{VM: name, State: vm.Stopped}
	if mm := uuidLine().FindStringSubmatch(out); mm != nil {
		rec.UUID = mm[1]
	}
	steps := [][]string{modifyVMArgs(s)}
	if d.HostOnly != "" {
		n, err := ParseHostOnly(d.HostOnly, d.lookup().GOOS, false)
		if err != nil {
			return err
		}
		ifname, err := d.ensureHostOnly(ctx, m, n)
		if err != nil {
			return err
		}
		rec.HostOnly = ifname
		steps = append(steps, hostOnlyNICArgs(name, ifname))
	}
	if s.Network != nil {
		steps = append(steps, intnetNICArgs(name, plan))
	}
	steps = append(steps, storageCtlArgs(name), attachDVDArgs(name, s.ISO), attachDiskArgs(name, s.Disk))
	for _, sh := range s.Shares {
		share := ShareName(sh)
		steps = append(steps, sharedFolderArgs(name, share, sh.HostPath), symlinkArgs(name, share))
	}
	for _, args := range steps {
		if _, err := m.run(ctx, args...); err != nil {
			return err
		}
	}
	if s.Network != nil {
		if err := d.ensureIntnetDHCP(ctx, m, plan); err != nil {
			return err
		}
	}
	return writeRecord(s.Dir, rec)
}

// ShareName is a share's VirtualBox name: its tag, or the host path's last
// element ("Users" for /Users, "home" for /home).
func ShareName(sh vm.Share) string {
	if sh.Tag != "" {
		return sh.Tag
	}
	p := strings.TrimRight(strings.ReplaceAll(sh.HostPath, `\`, "/"), "/")
	return p[strings.LastIndex(p, "/")+1:]
}

// Start boots the VM, or resumes it when paused or saved. Before a cold
// boot the NAT rules are brought to s's ports with modifyvm; a saved VM
// keeps its rules until it runs, then they are changed with controlvm. On
// a running VM it does nothing.
func (d *Driver) Start(ctx context.Context, s vm.Spec) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	info, err := d.info(ctx, m, s)
	if err != nil {
		return err
	}
	name := vm.Name(s.Name)
	ops := ruleChanges(info.Forwarding, wantedRules(s))
	switch StateOf(info.VMState) {
	case vm.Running, vm.Starting:
		return updateRecord(s, vm.Running, false)
	case vm.Paused:
		if _, err := m.run(ctx, controlVMArgs(name, "resume")...); err != nil {
			return err
		}
		return updateRecord(s, vm.Running, false)
	case vm.Stopped, vm.Aborted:
		if args := modifyNATArgs(name, ops); args != nil {
			m.retryLocked = true // the session of a VM that just powered off may still close
			_, err := m.run(ctx, args...)
			m.retryLocked = false
			if err != nil {
				return err
			}
		}
		ops = nil
	}
	if _, err := m.run(ctx, startVMArgs(name)...); err != nil {
		if advice := vtxProblemIn(s.Dir, name); advice != "" {
			return fmt.Errorf("VirtualBox could not start %q: %s (%w)", name, advice, err)
		}
		return err
	}
	// Recorded at once: the VM runs even if a rule change below fails.
	if err := updateRecord(s, vm.Running, false); err != nil {
		return err
	}
	for _, op := range ops {
		if _, err := m.run(ctx, controlNATArgs(name, op)...); err != nil {
			return err
		}
	}
	return nil
}

// State answers from the driver's record (StateFile) and a TCP connect to
// the forwarded SSH port; it never runs VBoxManage (see doc.go for what it
// cannot see).
func (d *Driver) State(ctx context.Context, s vm.Spec) (vm.State, error) {
	r, err := readRecord(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return vm.Stopped, nil
	}
	if err != nil {
		return vm.Aborted, nil // a damaged record is rewritten by the next transition
	}
	open := d.PortOpen
	if open == nil {
		open = portOpen
	}
	return localState(r, s.SSHPort, open), nil
}

// Stop with force=false presses the ACPI power button and returns; the
// guest powers off and State turns stopped when the port closes. On a VM
// that is not running it returns vm.ErrNotRunning.
//
// With force=true it ends the VM at once: poweroff when running or paused,
// discardstate when saved (the saved memory is thrown away), nothing when
// already off. The guest loses unsynced writes.
func (d *Driver) Stop(ctx context.Context, s vm.Spec, force bool) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	name := vm.Name(s.Name)
	if !force {
		if _, err := m.run(ctx, controlVMArgs(name, "acpipowerbutton")...); err != nil {
			var verr *Error
			if errors.As(err, &verr) && notRunning(verr.Stderr) {
				_ = updateRecord(s, vm.Stopped, false)
				return fmt.Errorf("machine %q: %w", s.Name, vm.ErrNotRunning)
			}
			return err
		}
		return updateRecord(s, vm.Running, true)
	}
	info, err := d.info(ctx, m, s)
	if err != nil {
		return err
	}
	switch st := StateOf(info.VMState); {
	case st.Live():
		if _, err := m.run(ctx, controlVMArgs(name, "poweroff")...); err != nil {
			return err
		}
	case st == vm.Saved:
		if _, err := m.run(ctx, discardStateArgs(name)...); err != nil {
			return err
		}
	case st == vm.Aborted:
		if info.VMState != "aborted" { // stuck, gurumeditation: the VM process is still there
			if _, err := m.run(ctx, controlVMArgs(name, "poweroff")...); err != nil {
				return err
			}
		}
	}
	return updateRecord(s, vm.Stopped, false)
}

// Delete unregisters the VM and deletes its files (settings, logs, saved
// state and the data disk), powering it off first if it runs. A VM that is
// not registered is not an error. The machine directory stays for the
// caller. Then, for a NIC on a tender network (read from the VM, or from
// s.Network when the VM is gone already), it removes the MAC's fixed
// address from the network's DHCP server, and the server itself when no
// registered VM is left on the network.
func (d *Driver) Delete(ctx context.Context, s vm.Spec) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	name := vm.Name(s.Name)
	info, err := d.info(ctx, m, s)
	if errors.Is(err, vm.ErrNotFound) {
		os.Remove(filepath.Join(s.Dir, StateFile))
		return d.releaseIntnets(ctx, m, specNICs(s))
	}
	if err != nil {
		return err
	}
	if StateOf(info.VMState).Live() {
		if _, err := m.run(ctx, controlVMArgs(name, "poweroff")...); err != nil {
			return err
		}
	}
	m.retryLocked = true
	if _, err := m.run(ctx, unregisterArgs(name)...); err != nil {
		return err
	}
	m.retryLocked = false
	os.Remove(filepath.Join(s.Dir, StateFile))
	return d.releaseIntnets(ctx, m, intnetNICs(info))
}

// specNICs is the NIC s.Network describes, for a VM VirtualBox no longer
// has (a Delete that failed half-way, run again).
func specNICs(s vm.Spec) []intnetNIC {
	if s.Network == nil {
		return nil
	}
	nic := intnetNIC{Network: intnetPrefix + s.Network.Name}
	if mac, err := net.ParseMAC(s.Network.MAC); err == nil {
		nic.MAC = mac.String()
	}
	return []intnetNIC{nic}
}

// Reset hard-reboots the guest, like a reset button.
func (d *Driver) Reset(ctx context.Context, s vm.Spec) error {
	return d.control(ctx, s, "reset")
}

// CanSave: VirtualBox saves any running VM, shared folders included.
func (d *Driver) CanSave(s vm.Spec) error { return nil }

// Save suspends the VM to disk (controlvm savestate); Start resumes it.
func (d *Driver) Save(ctx context.Context, s vm.Spec) error {
	if err := d.control(ctx, s, "savestate"); err != nil {
		return err
	}
	return updateRecord(s, vm.Saved, false)
}

// control runs `controlvm NAME action`; a VM that is not running is
// vm.ErrNotRunning.
func (d *Driver) control(ctx context.Context, s vm.Spec, action string) error {
	m, err := d.manage()
	if err != nil {
		return err
	}
	if _, err := m.run(ctx, controlVMArgs(vm.Name(s.Name), action)...); err != nil {
		var verr *Error
		if errors.As(err, &verr) && notRunning(verr.Stderr) {
			return fmt.Errorf("machine %q: %w", s.Name, vm.ErrNotRunning)
		}
		return err
	}
	return nil
}

// forwardRule names the rule of a published port: "tcp-8080".
func forwardRule(proto string, hostPort int) string { return proto + "-" + strconv.Itoa(hostPort) }

// ShareType implements vm.ShareTyper: shares are VirtualBox shared folders.
func (d *Driver) ShareType() string { return api.ShareVboxsf }

// Forward makes 127.0.0.1:hostPort reach guestPort while the VM runs
// (controlvm natpf1).
func (d *Driver) Forward(ctx context.Context, s vm.Spec, proto string, hostPort, guestPort int) error {
	if err := vm.CheckProto(proto); err != nil {
		return err
	}
	r := Rule{Name: forwardRule(proto, hostPort), Proto: proto, HostIP: "127.0.0.1", HostPort: hostPort, GuestPort: guestPort}
	m, err := d.manage()
	if err != nil {
		return err
	}
	_, err = m.run(ctx, controlNATArgs(vm.Name(s.Name), []string{r.String()})...)
	return err
}

// Unforward removes the rule of hostPort; a rule that does not exist is not
// an error.
func (d *Driver) Unforward(ctx context.Context, s vm.Spec, proto string, hostPort int) error {
	if err := vm.CheckProto(proto); err != nil {
		return err
	}
	m, err := d.manage()
	if err != nil {
		return err
	}
	_, err = m.run(ctx, controlNATArgs(vm.Name(s.Name), []string{"delete", forwardRule(proto, hostPort)})...)
	var verr *Error
	if errors.As(err, &verr) && strings.Contains(verr.Stderr, "does not exist") {
		return nil
	}
	return err
}
