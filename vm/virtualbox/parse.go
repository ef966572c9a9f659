package virtualbox

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/tenderdev/tender/vm"
)

// VMInfo is what tender reads from `showvminfo --machinereadable`.
type VMInfo struct {
	Name       string
	UUID       string
	CfgFile    string
	VMState    string // VirtualBox's word: poweroff, running, saved, …
	MemoryMiB  int
	CPUs       int
	Forwarding []Rule            // NIC 1's NAT rules
	Media      map[string]string // "SATA-0-0" → medium path, "none" or "emptydrive"
	Values     map[string]string // every key, unquoted
}

// ParseVMInfo reads `showvminfo NAME --machinereadable`: one key=value per
// line, keys and string values in double quotes ("SATA-0-0"="/x.iso",
// VMState="running"), numbers bare (memory=2048). VirtualBox 7 escapes
// `"` and `\` inside quoted values with a backslash.
func ParseVMInfo(out string) (VMInfo, error) {
	info := VMInfo{Values: map[string]string{}, Media: map[string]string{}}
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		key, rest, ok := splitKey(line)
		if !ok {
			continue // a wrapped description line, or a banner
		}
		val := unquote(rest)
		info.Values[key] = val
		switch {
		case key == "name":
			info.Name = val
		case key == "UUID":
			info.UUID = val
		case key == "CfgFile":
			info.CfgFile = val
		case key == "VMState":
			info.VMState = val
		case key == "memory":
			info.MemoryMiB, _ = strconv.Atoi(val)
		case key == "cpus":
			info.CPUs, _ = strconv.Atoi(val)
		case strings.HasPrefix(key, "Forwarding("):
			r, err := ParseRule(val)
			if err != nil {
				return VMInfo{}, fmt.Errorf("showvminfo: %s: %w", key, err)
			}
			info.Forwarding = append(info.Forwarding, r)
		case strings.HasPrefix(key, Controller+"-") && !strings.Contains(key, "ImageUUID") && !strings.Contains(key, "IsEjected") &&
			!strings.Contains(key, "tempeject") && !strings.Contains(key, "nonrotational") && !strings.Contains(key, "discard") &&
			!strings.Contains(key, "hot-pluggable"):
			info.Media[key] = val
		}
	}
	if info.VMState == "" {
		return VMInfo{}, fmt.Errorf("showvminfo printed no VMState: %q", firstLine(out))
	}
	return info, nil
}

// splitKey splits `"key"=value` or `key=value`.
func splitKey(line string) (key, rest string, ok bool) {
	if strings.HasPrefix(line, `"`) {
		end := strings.Index(line[1:], `"=`)
		if end < 0 {
			return "", "", false
		}
		return line[1 : end+1], line[end+3:], true
	}
	key, rest, ok = strings.Cut(line, "=")
	if !ok || key == "" || strings.ContainsAny(key, " \t") {
		return "", "", false
	}
	return key, rest, true
}

func unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\') {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// ParseRule reads a NAT rule: name,proto,hostip,hostport,guestip,guestport.
func ParseRule(s string) (Rule, error) {
	f := strings.Split(s, ",")
	if len(f) != 6 {
		return Rule{}, fmt.Errorf("NAT rule %q does not have 6 fields", s)
	}
	hp, err1 := strconv.Atoi(f[3])
	gp, err2 := strconv.Atoi(f[5])
	if err1 != nil || err2 != nil || (f[1] != "tcp" && f[1] != "udp") || hp < 0 || hp > 65535 || gp < 0 || gp > 65535 {
		return Rule{}, fmt.Errorf("NAT rule %q is malformed", s)
	}
	return Rule{Name: f[0], Proto: f[1], HostIP: f[2], HostPort: hp, GuestIP: f[4], GuestPort: gp}, nil
}

// StateOf maps VirtualBox's VMState to tender's state. "aborted" (the VM
// process died) is Aborted, which Start treats like stopped; states in
// passing (stopping, saving) are still Running, restoring and starting
// are Starting; a VM stuck in a guru meditation is Aborted because only a
// poweroff gets it out.
func StateOf(vmState string) vm.State {
	switch vmState {
	case "poweroff":
		return vm.Stopped
	case "saved", "aborted-saved":
		return vm.Saved
	case "aborted", "gurumeditation", "stuck":
		return vm.Aborted
	case "running", "stopping", "saving", "teleporting", "livesnapshotting", "onlinesnapshotting", "settingup":
		return vm.Running
	case "starting", "restoring", "teleported":
		return vm.Starting
	case "paused":
		return vm.Paused
	}
	return vm.Aborted
}

// VMEntry is one line of `list vms`.
type VMEntry struct {
	Name string
	UUID string
}

var vmListLine = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^"(.*)" \{([0-9a-fA-F-]+)\}$`)
})

// ParseVMList reads `list vms`: `"name" {uuid}` per line. A VM whose
// settings cannot be read shows as "<inaccessible>" and is kept.
func ParseVMList(out string) ([]VMEntry, error) {
	var vms []VMEntry
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		m := vmListLine().FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("list vms: unexpected line %q", line)
		}
		vms = append(vms, VMEntry{Name: m[1], UUID: m[2]})
	}
	return vms, nil
}

// HostOnlyIf is one block of `list hostonlyifs`.
type HostOnlyIf struct {
	Name        string
	GUID        string
	DHCP        bool
	IPAddress   string
	NetworkMask string
	Status      string
	NetworkName string // VBoxNetworkName: HostInterfaceNetworking-NAME
}

// ParseHostOnlyIfs reads `list hostonlyifs`: blocks of `Key: value` lines
// separated by blank lines.
func ParseHostOnlyIfs(out string) ([]HostOnlyIf, error) {
	var ifs []HostOnlyIf
	for _, block := range colonBlocks(out, "Name") {
		hi := HostOnlyIf{
			Name: block["Name"], GUID: block["GUID"], DHCP: block["DHCP"] == "Enabled",
			IPAddress: block["IPAddress"], NetworkMask: block["NetworkMask"],
			Status: block["Status"], NetworkName: block["VBoxNetworkName"],
		}
		if hi.Name == "" {
			return nil, fmt.Errorf("list hostonlyifs: a block has no Name")
		}
		ifs = append(ifs, hi)
	}
	return ifs, nil
}

// DHCPServer is one block of `list dhcpservers`.
type DHCPServer struct {
	NetworkName string
	IP          string
	Lower       string
	Upper       string
	NetworkMask string
	Enabled     bool
	// Fixed holds the server's individual configs (6.1+): MAC address as
	// VirtualBox prints it ("52:54:00:0a:0b:0c") → fixed address, "" for a
	// dynamic one. Nil when there are none.
	Fixed map[string]string
}

// ParseDHCPServers reads `list dhcpservers`: blocks starting with
// NetworkName; the server's address is "Dhcpd IP" (6.1+) or "IP" (older).
// Of the indented lines (the per-config settings of 6.1+) only an
// individual config's "Fixed Address" is read.
func ParseDHCPServers(out string) ([]DHCPServer, error) {
	var servers []DHCPServer
	mac := "" // the individual config being read
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		k, v, ok := strings.Cut(line, ":")
		if !ok || line == "" {
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == "NetworkName" && !indented {
			servers = append(servers, DHCPServer{NetworkName: v})
			mac = ""
			continue
		}
		if len(servers) == 0 {
			continue
		}
		cur := &servers[len(servers)-1]
		if indented {
			if k == "Fixed Address" && mac != "" {
				if v == "dynamic" {
					v = ""
				}
				cur.Fixed[mac] = v
			}
			continue
		}
		mac = ""
		switch k {
		case "Dhcpd IP":
			cur.IP = v
		case "IP":
			if cur.IP == "" {
				cur.IP = v
			}
		case "LowerIPAddress":
			cur.Lower = v
		case "UpperIPAddress":
			cur.Upper = v
		case "NetworkMask":
			cur.NetworkMask = v
		case "Enabled":
			cur.Enabled = v == "Yes"
		case "Individual Config":
			// "MAC 52:54:00:0a:0b:0c", or "VM NIC: UUID slot N, MAC …"
			if i := strings.LastIndex(v, "MAC "); i >= 0 {
				mac = strings.ToLower(strings.TrimSpace(v[i+len("MAC "):]))
				if cur.Fixed == nil {
					cur.Fixed = map[string]string{}
				}
				cur.Fixed[mac] = ""
			}
		}
	}
	return servers, nil
}

// colonBlocks splits `Key: value` output into blocks, each starting at a
// line whose key is first. Indented lines belong to nested sections and are
// skipped.
func colonBlocks(out, first string) []map[string]string {
	var blocks []map[string]string
	var cur map[string]string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if k == first {
			cur = map[string]string{}
			blocks = append(blocks, cur)
		}
		if cur != nil {
			cur[k] = v
		}
	}
	return blocks
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
