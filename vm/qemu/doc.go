// Package qemu is tender's QEMU driver: each machine is one detached
// qemu-system-* process booting the tender ISO as a CD, with the raw data
// disk on virtio, user-mode networking that forwards 127.0.0.1 ports to the
// guest's SSH and Docker, a QMP monitor, a serial log and a pidfile.
//
// The argv is built by the pure function Cmdline from a vm.Spec and a Host
// (OS, arch, accelerator, QEMU path), so it is table-tested for every host;
// Driver does the process handling. The driver keeps no state in memory:
// everything is in runtime files under the machine directory (PidFile,
// QMPSocket, and on Windows QMPPortFile and StderrFile).
//
// # States
//
// State reads only the pidfile and the process table; it never starts a
// program or opens the monitor, so it cannot see "paused" (tender never
// pauses a VM) or "starting" (the machine package decides that by waiting
// for SSH and Docker).
//
//	pidfile   process named in it                        State
//	-------   ----------------------------------------   -------
//	absent    -                                          stopped
//	present   alive, argv holds -name tender-NAME and    running
//	          this machine's -pidfile
//	present   dead, or alive but another program         aborted
//	          (the pid was reused), or the file is torn
//
// QEMU removes its pidfile when it exits cleanly (guest power-off, QMP
// quit), so a pidfile left behind is the mark of an unclean end: QEMU was
// killed or crashed, or the host went down.
//
// # Transitions
//
//	stopped ──Start──────────────────────────────► running
//	aborted ──Start (removes stale runtime files)─► running
//	aborted ──Stop(force) or Delete (cleans up)───► stopped
//	running ──Start──────────────────────────────► running  (no-op)
//	running ──Stop(false): ACPI power button──────► running … stopped
//	           the guest agent shuts down; QEMU exits when the guest powers off
//	running ──Stop(true): QMP quit, else SIGKILL──► stopped  UNSAFE
//	running ──Reset: QMP system_reset─────────────► running  UNSAFE
//	running ──QEMU killed, host crash─────────────► aborted  (not a driver call)
//
// Unsafe transitions:
//   - Stop(true) and Reset cut the power: writes the guest has not synced
//     are lost, the ext4 data disk replays its journal on the next boot, and
//     running containers die without their stop signal. Use them only after
//     Stop(false) did not finish (tender down waits 30 s, then says to run
//     tender poweroff).
//   - Start while another Start of the same machine runs: both see
//     "stopped" and both launch QEMU. The second normally fails on the disk
//     lock or the forwarded ports, but the driver does not lock; callers hold
//     the machine lock around Start, Stop and Delete.
//   - Touching the data disk (resize, rewrite the userdata) while running:
//     QEMU holds a write lock on it, and the guest owns the filesystem.
//   - Between Stop(false) and QEMU's exit the state is still "running";
//     Start in that window returns at once and the guest then powers off.
//     Callers wait for "stopped" before restarting.
//
// # Networks between machines
//
// A machine with Spec.Network gets a second virtio NIC (net1, the guest's
// eth1; eth0 stays the NAT uplink) whose Ethernet frames are unix
// datagrams: QEMU binds Network.VMSocket and sends to Network.SwitchSocket,
// which the network's switch process binds (-netdev dgram). Start removes a
// stale VMSocket (QEMU leaves it when it exits) and refuses a socket path
// longer than vm.MaxSocketPath; Stop(force) removes it. The switch may
// start after QEMU: until it binds its socket the NIC's frames are dropped.
// Windows QEMU has no unix datagram sockets, so the NIC is
// vm.ErrNotSupported there.
//
// Save is not supported (vm.ErrNotSupported): QEMU's savevm needs a qcow2
// disk, and tender's disk is raw.
//
// # Hosts
//
// Linux uses KVM when /dev/kvm opens read-write, macOS HVF when
// kern.hv_support is 1, Windows WHPX when WinHvPlatform.dll loads; anything
// else, and any guest whose arch differs from the host's, runs under TCG
// (callers print TCGWarning). On Windows QEMU cannot daemonize and has no
// unix socket chardev, so Start picks a free 127.0.0.1 port for QMP, records
// it in qmp.port, and starts QEMU detached (new process group, no console)
// with its stderr in qemu.stderr; Windows QEMU has no virtfs, so shares are
// left out there. The Windows paths are only compile-checked and argv-tested.
package qemu
