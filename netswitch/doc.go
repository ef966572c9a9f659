// Package netswitch is the switch of a tender network (the tender-net
// process, one per network): an Ethernet switch in user space that joins the
// second NICs of the network's machines, with a gateway that answers DHCP
// (each machine's static lease, by MAC) and DNS (the machines' names in the
// network's domain). It is built from gvisor-tap-vsock, the switch of Podman
// machine and Lima, which costs ~30 ms of package initialisation: only
// cmd/tender-net links this package, never the tender binary.
//
// Each machine's NIC reaches the switch through two unix datagram sockets,
// one frame per datagram: the hypervisor binds the member's VMSocket and
// sends to its SwitchSocket; the switch binds SwitchSocket and sends to
// VMSocket, by path on every frame (sendto, never connect), so either side
// may restart and rebind without the other doing anything.
//
// Unlike gvisor-tap-vsock's own VirtualNetwork, the gateway has no TCP or
// UDP forwarders and no NAT: it is no path off the host. A guest reaches the
// gateway's DHCP and DNS, and the other machines; anything it sends to
// another address through the gateway is dropped.
//
// Unix datagram sockets are not on Windows: there Run says so.
package netswitch
