package virtualbox

import (
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
	"github.com/tenderdev/tender/vm"
)

// The pure argv builders: every VBoxManage call tender makes, as data, so
// the exact command lines are table-tested and replayed by the recording
// test. The option spellings are the ones VirtualBox 6.1 documents; 7.x
// still accepts them.

// Controller is the name of the SATA controller tender adds.
const Controller = "SATA"

// The SATA ports of the boot image and the data disk.
const (
	dvdPort  = 0
	diskPort = 1
)

// Guest ports the NAT rules forward to, and the rule names.
const (
	guestSSH    = api.SSHPort
	guestDocker = api.DockerPort
	ruleSSH     = "ssh"
	ruleDocker  = "docker"
)

func versionArgs() []string { return []string{"--version"} }

func showVMInfoArgs(name string) []string {
	return []string{"showvminfo", name, "--machinereadable"}
}

func createVMArgs(dir, name string) []string {
	return []string{"createvm", "--basefolder", dir, "--name", name, "--register"}
}

// modifyVMArgs is init's one modifyvm: hardware, boot order, the NAT NIC on
// virtio, the serial port into the serial log, and the port rules when the
// ports are already known.
func modifyVMArgs(s vm.Spec) []string {
	args := []string{"modifyvm", vm.Name(s.Name),
		"--ostype", "Linux26_64",
		"--memory", strconv.Itoa(s.MemoryMiB),
		"--cpus", strconv.Itoa(s.CPUs),
		"--acpi", "on",
		"--ioapic", "on",
		"--rtcuseutc", "on",
		"--paravirtprovider", "kvm",
		"--boot1", "dvd", "--boot2", "disk", "--boot3", "none", "--boot4", "none",
		"--nic1", "nat", "--nictype1", "virtio",
		"--uart1", "0x3F8", "4", "--uartmode1", "file", s.SerialLog,
	}
	for _, r := range wantedRules(s) {
		args = append(args, "--natpf1", r.String())
	}
	return args
}

// Rule is one NAT port-forwarding rule of NIC 1.
type Rule struct {
	Name      string
	Proto     string // "tcp" or "udp"
	HostIP    string
	HostPort  int
	GuestIP   string
	GuestPort int
}

// String is the rule in VBoxManage's form:
// name,proto,hostip,hostport,guestip,guestport.
func (r Rule) String() string {
	return fmt.Sprintf("%s,%s,%s,%d,%s,%d", r.Name, r.Proto, r.HostIP, r.HostPort, r.GuestIP, r.GuestPort)
}

// wantedRules are the SSH and Docker rules for s's ports, on 127.0.0.1
// only; none while the ports are not chosen yet (init, before the first up).
func wantedRules(s vm.Spec) []Rule {
	var rules []Rule
	if s.SSHPort != 0 {
		rules = append(rules, Rule{ruleSSH, "tcp", "127.0.0.1", s.SSHPort, "", guestSSH})
	}
	if s.DockerPort != 0 {
		rules = append(rules, Rule{ruleDocker, "tcp", "127.0.0.1", s.DockerPort, "", guestDocker})
	}
	return rules
}

// ruleChanges returns the natpf1 operations that turn have into want for
// the rules tender names (ssh, docker): "delete NAME" for a stale rule, then
// the new rule. Rules with other names (published ports, the user's own)
// are left alone. Each element is one operation's words.
func ruleChanges(have []Rule, want []Rule) [][]string {
	byName := map[string]Rule{}
	for _, r := range have {
		byName[r.Name] = r
	}
	var ops [][]string
	for _, w := range want {
		h, ok := byName[w.Name]
		if ok && h == w {
			continue
		}
		if ok {
			ops = append(ops, []string{"delete", w.Name})
		}
		ops = append(ops, []string{w.String()})
	}
	return ops
}

// modifyNATArgs changes the rules while the VM is powered off (nil when
// nothing changes).
func modifyNATArgs(name string, ops [][]string) []string {
	if len(ops) == 0 {
		return nil
	}
	args := []string{"modifyvm", name}
	for _, op := range ops {
		args = append(append(args, "--natpf1"), op...)
	}
	return args
}

// controlNATArgs is one rule change on a running VM (controlvm takes one
// per call).
func controlNATArgs(name string, op []string) []string {
	return append([]string{"controlvm", name, "natpf1"}, op...)
}

func storageCtlArgs(name string) []string {
	return []string{"storagectl", name, "--name", Controller, "--add", "sata",
		"--controller", "IntelAhci", "--portcount", "2", "--bootable", "on"}
}

func attachDVDArgs(name, iso string) []string {
	return []string{"storageattach", name, "--storagectl", Controller,
		"--port", strconv.Itoa(dvdPort), "--device", "0", "--type", "dvddrive", "--medium", iso}
}

func attachDiskArgs(name, disk string) []string {
	return []string{"storageattach", name, "--storagectl", Controller,
		"--port", strconv.Itoa(diskPort), "--device", "0", "--type", "hdd", "--medium", disk}
}

// convertFromRawArgs makes the VMDK from size bytes on stdin.
func convertFromRawArgs(disk string, size int64) []string {
	return []string{"convertfromraw", "stdin", disk, strconv.FormatInt(size, 10), "--format", "VMDK"}
}

func sharedFolderArgs(name, share, hostPath string) []string {
	return []string{"sharedfolder", "add", name, "--name", share, "--hostpath", hostPath, "--automount"}
}

// symlinkArgs lets the guest create symlinks in the share (off by default
// in VirtualBox; npm, git and many builds need them).
func symlinkArgs(name, share string) []string {
	return []string{"setextradata", name, "VBoxInternal2/SharedFoldersEnableSymlinksCreate/" + share, "1"}
}

func startVMArgs(name string) []string {
	return []string{"startvm", name, "--type", "headless"}
}

func controlVMArgs(name, action string) []string {
	return []string{"controlvm", name, action}
}

func discardStateArgs(name string) []string { return []string{"discardstate", name} }

func unregisterArgs(name string) []string {
	return []string{"unregistervm", name, "--delete"}
}

func listVMsArgs() []string { return []string{"list", "vms"} }

func listHostOnlyIfsArgs() []string { return []string{"list", "hostonlyifs"} }

func listDHCPServersArgs() []string { return []string{"list", "dhcpservers"} }

func hostOnlyIfCreateArgs() []string { return []string{"hostonlyif", "create"} }

func hostOnlyIfIPConfigArgs(ifname string, n HostOnlyNet) []string {
	return []string{"hostonlyif", "ipconfig", ifname, "--ip", n.HostIP.String(), "--netmask", maskString(n)}
}

func dhcpServerAddArgs(ifname string, n HostOnlyNet) []string {
	return []string{"dhcpserver", "add", "--interface=" + ifname,
		"--server-ip=" + n.DHCPIP.String(), "--netmask=" + maskString(n),
		"--lower-ip=" + n.Lower.String(), "--upper-ip=" + n.Upper.String(), "--enable"}
}

// hostOnlyNICArgs puts NIC 2 on the host-only interface.
func hostOnlyNICArgs(name, ifname string) []string {
	return []string{"modifyvm", name, "--nic2", "hostonly", "--nictype2", "virtio", "--hostonlyadapter2", ifname}
}

// intnetNICArgs puts NIC 2 on the internal network of a tender network,
// with the machine's MAC (VirtualBox takes it as 12 hex digits).
func intnetNICArgs(name string, p intnetPlan) []string {
	return []string{"modifyvm", name, "--nic2", "intnet", "--intnet2", p.Network, "--nictype2", "virtio",
		"--macaddress2", strings.ToUpper(hex.EncodeToString(p.MAC)), "--cableconnected2", "on"}
}

// dhcpServerIntnetArgs adds ("add") or corrects ("modify") the DHCP server
// of an internal network.
func dhcpServerIntnetArgs(verb string, p intnetPlan) []string {
	return []string{"dhcpserver", verb, "--network=" + p.Network,
		"--server-ip=" + p.Server.String(), "--netmask=" + net.IP(p.Subnet.Mask).String(),
		"--lower-ip=" + p.Lower.String(), "--upper-ip=" + p.Upper.String(), "--enable"}
}

// dhcpFixedAddressArgs gives the MAC its fixed address on network's DHCP
// server (an individual config, VirtualBox 6.1+).
func dhcpFixedAddressArgs(network string, mac net.HardwareAddr, addr net.IP) []string {
	return []string{"dhcpserver", "modify", "--network=" + network, "--mac-address=" + mac.String(), "--fixed-address=" + addr.String()}
}

// dhcpRemoveConfigArgs drops the MAC's individual config.
func dhcpRemoveConfigArgs(network, mac string) []string {
	return []string{"dhcpserver", "modify", "--network=" + network, "--mac-address=" + mac, "--remove-config"}
}

func dhcpServerRemoveArgs(network string) []string {
	return []string{"dhcpserver", "remove", "--network=" + network}
}
