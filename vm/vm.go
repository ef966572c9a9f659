// Package vm defines what tender needs from a hypervisor: a small Driver
// interface, the machine states, and the errors drivers return. Drivers live
// in vm/qemu and vm/virtualbox; nothing here names either of them.
package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// State is what a machine is doing, in the words `tender status` prints.
type State string

const (
	NotCreated State = "not-created"
	Stopped    State = "stopped"
	Starting   State = "starting"
	Running    State = "running"
	Paused     State = "paused"
	Saved      State = "saved"
	Aborted    State = "aborted" // the hypervisor died without a clean shutdown
	// Unreachable is a server (driver ssh) whose host agent runs but
	// cannot reach it, or its Docker; the agent keeps trying.
	Unreachable State = "unreachable"
)

// MaxSocketPath is the longest unix socket path every host accepts
// (sun_path is 104 bytes on macOS, 108 on Linux, both NUL-terminated): the
// QMP and virtiofs sockets of a driver and the host agent's docker.sock.
const MaxSocketPath = 103

// Errors drivers return, to be tested with errors.Is.
var (
	ErrNotSupported = errors.New("not supported by this driver")
	ErrNotRunning   = errors.New("machine is not running")
	ErrNotFound     = errors.New("machine does not exist in the hypervisor")
)

// Share is a host folder offered to the guest.
type Share struct {
	HostPath string
	Tag      string // 9p mount tag or VirtualBox share name
	ReadOnly bool
}

// Spec is everything a driver needs to create and boot one machine. Paths are
// absolute. The driver keeps its own runtime files (pidfile, QMP socket, …)
// under Dir.
type Spec struct {
	Name       string // machine name, e.g. "default"
	Dir        string // the machine directory, TENDER_HOME/machines/NAME
	ISO        string // boot image
	Disk       string // data disk image, already holding the userdata tar
	CPUs       int
	MemoryMiB  int
	SSHPort    int // host port on 127.0.0.1 forwarded to guest 22
	DockerPort int // host port on 127.0.0.1 forwarded to guest 2376
	SerialLog  string
	Shares     []Share
	Arch       string // "amd64" or "arm64"
	// Network is the machine's second NIC, on a tender network shared with
	// other machines; nil: the machine has only its NAT NIC.
	Network *NetworkAttachment
}

// NetworkAttachment is a machine's NIC on a tender network (package network).
// QEMU exchanges the NIC's Ethernet frames as unix datagrams with the
// network's switch (tender-net): it binds VMSocket and sends to
// SwitchSocket, which the switch binds. VirtualBox puts the NIC on the
// internal network "tender-"+Name instead.
type NetworkAttachment struct {
	Name         string // the tender network, e.g. "lab"
	MAC          string // "52:54:00:xx:xx:xx", the key of the machine's static lease
	Address      string // the static lease, e.g. "192.168.127.2"
	Subnet       string // e.g. "192.168.127.0/24"
	VMSocket     string // absolute path the hypervisor binds
	SwitchSocket string // absolute path the switch binds
}

// Driver boots machines on one hypervisor.
//
// Contracts: every method is safe to call in any state and reports the state
// problem as an error rather than panicking. Create on an existing machine
// returns nil. Start on a running machine returns nil. Stop(force=false)
// presses the ACPI power button and returns without waiting; callers poll
// State. Stop(force=true) ends the VM at once. Delete removes only what the
// driver registered or created, never the machine directory itself. State is
// quick: it must not start other programs where a pid or socket check can
// answer (shellinit and status call it on every shell start).
type Driver interface {
	Name() string
	Create(ctx context.Context, s Spec) error
	Start(ctx context.Context, s Spec) error
	Stop(ctx context.Context, s Spec, force bool) error
	Delete(ctx context.Context, s Spec) error
	State(ctx context.Context, s Spec) (State, error)
}

// Resetter hard-reboots a running machine.
type Resetter interface {
	Reset(ctx context.Context, s Spec) error
}

// Saver suspends a running machine to disk; Start resumes it. CanSave says
// why a running machine cannot be saved (nil when it can), so that the
// caller learns it before it readies the guest for a save.
type Saver interface {
	CanSave(s Spec) error
	Save(ctx context.Context, s Spec) error
}

// StateSizer tells the size of a saved machine's state file.
type StateSizer interface {
	StateSize(s Spec) int64
}

// Forwarder adds and removes 127.0.0.1 port forwards on a running machine.
type Forwarder interface {
	Forward(ctx context.Context, s Spec, proto string, hostPort, guestPort int) error
	Unforward(ctx context.Context, s Spec, proto string, hostPort int) error
}

// ShareTyper names the filesystem the guest mounts the driver's shares
// with: "9p" (virtio-9p) or "vboxsf". Drivers without it offer 9p.
type ShareTyper interface {
	ShareType() string
}

// CheckProto accepts the protocols a Forwarder forwards: "tcp" and "udp".
func CheckProto(proto string) error {
	if proto != "tcp" && proto != "udp" {
		return fmt.Errorf("protocol must be tcp or udp, got %q", proto)
	}
	return nil
}

// Preflighter checks, before anything is made, that Create and Start can
// work: the hypervisor is installed, the image is readable. Init calls it
// first so that a missing hypervisor leaves nothing behind.
type Preflighter interface {
	Preflight(ctx context.Context, s Spec) error
}

// DiskCreator is implemented by drivers whose hypervisor wants its own disk
// format (VirtualBox: VMDK). Without it, the data disk is a raw sparse file.
type DiskCreator interface {
	// DiskFile is the data disk's file name inside the machine directory.
	DiskFile() string
	// CreateDisk writes exactly size bytes from userdata (the userdata tar
	// followed by zeros) into a new disk at s.Disk.
	CreateDisk(ctx context.Context, s Spec, userdata io.Reader, size int64) error
}

// StartWarner has a one-line warning for the user before Start, such as
// "no hardware acceleration: this will be slow"; "" means none.
type StartWarner interface {
	StartWarning(s Spec) string
}

// Live reports whether the hypervisor holds the machine: running, starting
// or paused. A live machine must be stopped before its disk or image
// changes, and has a host agent.
// An unreachable server is live too: its host agent runs, and down stops it.
func (s State) Live() bool {
	return s == Running || s == Starting || s == Paused || s == Unreachable
}

// Switched is implemented by drivers whose NICs on a tender network reach
// the other machines through the network's switch process, tender-net
// (QEMU). The others bring their own (VirtualBox: an internal network).
type Switched interface {
	SwitchedNetwork() bool
}
