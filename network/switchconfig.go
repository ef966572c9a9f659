package network

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/tenderdev/tender/atomicfile"
)

// SwitchConfig is what one switch process (tender-net) serves: the network's
// addresses, and one member per machine on it. tender writes it (JSON, the
// file SwitchConfigFile in the network's directory) before it starts the
// switch; the switch reads it once at start. A change of members restarts
// the switch, which the machines on it ride out (their frames are datagrams:
// nothing to reconnect).
type SwitchConfig struct {
	Name    string   `json:"name"`    // the network, e.g. "lab"
	Subnet  string   `json:"subnet"`  // e.g. "192.168.127.0/24"
	Gateway string   `json:"gateway"` // the switch's own address: DHCP server, DNS server, e.g. "192.168.127.1"
	Domain  string   `json:"domain"`  // the DNS zone of the members' names, "tender.internal"
	MTU     int      `json:"mtu"`     // the NICs' MTU (1500)
	Members []Member `json:"members"`
	// PIDFile is written with the switch's pid once every member's socket
	// is bound (the switch is ready), and removed when it exits.
	PIDFile string `json:"pid_file"`
}

// Member is one machine on the network.
type Member struct {
	Machine string `json:"machine"` // its name: the DNS name Machine and Machine.Domain
	MAC     string `json:"mac"`     // "52:54:00:xx:xx:xx"
	Address string `json:"address"` // its static DHCP lease, e.g. "192.168.127.2"
	// VMSocket is the unix datagram socket the hypervisor binds for the
	// machine's NIC; the switch sends the machine's frames there.
	VMSocket string `json:"vm_socket"`
	// SwitchSocket is the unix datagram socket the switch binds for this
	// member; the hypervisor sends the NIC's frames there. The switch
	// accepts frames on it only from VMSocket.
	SwitchSocket string `json:"switch_socket"`
}

// ReadSwitchConfig reads a switch's configuration.
func ReadSwitchConfig(path string) (*SwitchConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c SwitchConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// WriteSwitchConfig writes c to path (0600), atomically.
func WriteSwitchConfig(path string, c *SwitchConfig) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), 0o600)
}
