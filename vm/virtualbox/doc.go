// Package virtualbox is tender's VirtualBox driver: each machine is one VM
// named tender-NAME, registered with --basefolder in the machine directory
// (so its settings, Logs/VBox.log and saved state live in
// machines/NAME/tender-NAME/), driven only through VBoxManage.
//
// Every command line is built by a pure function in argv.go and every
// output is read by a pure parser in parse.go (showvminfo
// --machinereadable, list vms, list hostonlyifs, list dhcpservers,
// --version), so both are table-tested; the VBoxManage wrapper (vbm.go)
// knows the quirks: retries "object is not ready", treats an "error:" line
// on stderr as a failure even with exit code 0, and turns "Could not find
// a registered machine" into vm.ErrNotFound with the delete/init hint.
// Find locates VBoxManage (--vbm, PATH, then the Windows install paths),
// and on macOS DYLD_LIBRARY_PATH and LD_LIBRARY_PATH are removed from its
// environment.
//
// # What each use case runs
//
//	init      Preflight: --version (≥ 6.1), list vms (tender-NAME must be free)
//	          CreateDisk: convertfromraw stdin disk.vmdk BYTES --format VMDK
//	          Create: showvminfo, createvm --basefolder DIR --name tender-NAME --register,
//	          modifyvm (hardware, NAT on virtio, serial file, rules if ports known),
//	          [host-only NIC | modifyvm --nic2 intnet … on tender-NET],
//	          storagectl SATA, storageattach ISO and disk,
//	          sharedfolder add --automount + symlink extradata per share,
//	          [list dhcpservers, dhcpserver add --network=tender-NET (when missing),
//	          dhcpserver modify --network=tender-NET --mac-address --fixed-address]
//	up        showvminfo; modifyvm --natpf1 (when off and the ports changed);
//	          startvm --type headless; from paused controlvm resume; from
//	          saved startvm, then controlvm natpf1 if the ports changed
//	down      controlvm acpipowerbutton (machine polls State)
//	poweroff  showvminfo; controlvm poweroff, or discardstate when saved
//	reset     controlvm reset
//	save      controlvm savestate
//	delete    showvminfo; controlvm poweroff if running; unregistervm --delete;
//	          [on tender-NET: list dhcpservers, dhcpserver modify --remove-config,
//	          list vms + showvminfo each, dhcpserver remove when none is on it]
//
// The NAT rules "ssh" and "docker" forward 127.0.0.1:SSHPort to 22 and
// 127.0.0.1:DockerPort to 2376. The ports are chosen by the machine package
// at the first up, so init normally adds no rule and up adds them; rules
// change with modifyvm --natpf1 only while the VM is powered off and with
// controlvm natpf1 while it runs. Published ports get rules named
// "tcp-PORT" (Forward, Unforward).
//
// # States
//
// VirtualBox's VMState maps to tender's (StateOf):
//
//	poweroff                        stopped
//	running, stopping, saving       running
//	starting, restoring             starting
//	paused                          paused
//	saved, aborted-saved            saved
//	aborted (VM process died),      aborted  (Start treats it like stopped)
//	gurumeditation, stuck
//
// State never runs VBoxManage, because shellinit, status, ls and ip call
// it on every shell start, and each VBoxManage call is a process start plus
// a round trip to VBoxSVC (which it launches when it is not running): far
// over the few milliseconds shellinit may take. Instead each transition tender makes is
// written to StateFile (virtualbox.json) and State combines that record
// with a TCP connect to 127.0.0.1:SSHPort, where VirtualBox's NAT listens
// for as long as the VM process runs:
//
//	recorded            port open   port closed
//	--------            ---------   -----------
//	running             running     aborted (stopped if the power button was pressed)
//	paused, saved       as recorded (no check: a paused NAT may not answer)
//	stopped, no record  stopped
//
// The trade-off: changes made behind tender's back are seen late. A VM
// started in the VirtualBox GUI reads stopped, a guest that powers itself
// off reads aborted, a VM saved in the GUI reads aborted, and another
// program listening on the port would make a dead VM read running. Every
// command that acts (up, down, poweroff, save, delete) asks showvminfo
// first and rewrites the record, so the record heals on the next action.
//
// # Transitions
//
//	stopped ──Start: [modifyvm --natpf1] startvm────────────► running
//	aborted ──Start (same as stopped)───────────────────────► running
//	saved   ──Start: startvm (restores) [controlvm natpf1]──► running
//	paused  ──Start: controlvm resume───────────────────────► running
//	running ──Start─────────────────────────────────────────► running  (no-op)
//	running ──Stop(false): acpipowerbutton──────────────────► running … stopped
//	running ──Stop(true): controlvm poweroff────────────────► stopped  UNSAFE
//	saved   ──Stop(true): discardstate──────────────────────► stopped  UNSAFE
//	running ──Save: controlvm savestate─────────────────────► saved
//	running ──Reset: controlvm reset────────────────────────► running  UNSAFE
//	any     ──Delete: [poweroff] unregistervm --delete──────► not registered
//
// Unsafe transitions:
//   - Stop(true) and Reset cut the power (unsynced writes are lost, the
//     ext4 data disk replays its journal); discardstate throws away the
//     saved memory, which is the same as a power cut at save time.
//   - modifyvm on a running or paused VM fails ("already locked for a
//     session"), and on a saved one ("not mutable"), which is why rule
//     changes of a saved VM wait until it runs.
//   - Right after a power-off VirtualBox may still hold the VM's session
//     for a moment: modifyvm and unregistervm retry "already locked" then.
//   - Delete deletes the VMDK (unregistervm --delete removes the disks
//     attached only to this VM) but not the ISO, which other machines share.
//   - Two Starts at once both see "poweroff"; the second startvm fails on
//     the session lock. Callers hold the machine lock anyway.
//
// # Host-only network
//
// With Driver.HostOnly set, Create adds NIC 2 on a host-only interface with
// that address (DefaultHostOnly 192.168.59.1/24, inside the 192.168.56.0/21
// range VirtualBox 6.1.28+ allows on Linux and macOS). An existing interface
// whose address, mask and DHCP server all match is reused; one that
// overlaps with other settings is an error, since tender never changes
// interfaces it did not create; otherwise one is created, and VirtualBox's
// E_ACCESSDENIED is explained with the /etc/vbox/networks.conf fix.
//
// # Networks between machines
//
// A machine with Spec.Network (the tender network NET) gets NIC 2 on
// VirtualBox's internal network tender-NET: virtio, the machine's MAC, cable
// connected; NIC 1 stays the NAT uplink. The internal network's DHCP server
// (VirtualBox's, started with the first VM on the network) serves from the
// subnet's first address, has the upper half of the subnet as its dynamic
// pool, and gives each machine's MAC its static lease as a fixed address
// (an individual config, VirtualBox 6.1+). Create adds the server when
// `list dhcpservers` has none for the network and reuses it otherwise
// (correcting its addresses if they are not the subnet's); Delete removes
// the machine's individual config, and the server when no registered VM has
// a NIC on the network any more (read from each VM's showvminfo). A tender
// network and the host-only network would both be NIC 2: Preflight and
// Create refuse the two together.
//
// An internal network has no DNS server and no names: the machines reach
// each other by address only (see intnet.go).
package virtualbox
