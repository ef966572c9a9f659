package api

import "slices"

// The guest's ports. The host reaches both only through forwards to its
// own 127.0.0.1 that the VM is started with.
const (
	SSHPort        = 22   // sshd: public keys only, user docker
	DockerPort     = 2376 // dockerd: TLS with client certs signed by the host's CA
	DHCPClientPort = 68   // the agent's DHCP client (udp), not a service
)

// The engine's swarm ports: the managers' control plane (tcp), the nodes'
// gossip (tcp and udp) and the overlay networks' VXLAN (udp). They are for
// the machine's peers on its private network, never for the host.
const (
	SwarmControlPort = 2377
	SwarmGossipPort  = 7946
	SwarmVXLANPort   = 4789
)

// ReservedPorts are the guest ports that are never reported as published
// and never forwarded by the host agent: sshd and dockerd have their own
// forwards, the DHCP client's port is not a service, and the swarm ports
// listen for the other machines of a network only.
var ReservedPorts = []Port{
	{"tcp", SSHPort}, {"tcp", DockerPort}, {"udp", DHCPClientPort},
	{"tcp", SwarmControlPort}, {"tcp", SwarmGossipPort}, {"udp", SwarmGossipPort}, {"udp", SwarmVXLANPort},
}

// Reserved reports whether p is one of ReservedPorts.
func Reserved(p Port) bool { return slices.Contains(ReservedPorts, p) }

// Paths in the guest.
const (
	// AgentPath is the agent's binary; the host runs it by this path so
	// that no PATH in a non-login SSH session can change what runs.
	AgentPath = "/usr/sbin/tender-agent"
	// StateDir is the agent's persistent directory on the data disk.
	StateDir = "/var/lib/tender"
	// LogDir holds agent.log and the engine's logs, across boots.
	LogDir = StateDir + "/log"
	// AgentLog is the agent's own log.
	AgentLog = LogDir + "/agent.log"
	// TLSDir holds dockerd's CA, certificate and key.
	TLSDir = StateDir + "/tls"
	// UserdataDir keeps the guest's copy of the userdata it was formatted
	// with (the entry names of the userdata tar are paths under it).
	UserdataDir = StateDir + "/userdata"
	// IngressPortsFile lists the ports a swarm service publishes in
	// ingress mode, one "tcp/8080" a line (portwatch.FormatIngressFile).
	// Nothing listens on them in the guest, so watch-ports, run as the
	// user docker, cannot see them and cannot run iptables: the agent, as
	// root, reads dockerd's DNAT rules and keeps this file (0644, replaced
	// whole), and removes it when the machine leaves swarm mode.
	IngressPortsFile = "/run/tender/ingress-ports"
)
