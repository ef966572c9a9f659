//go:build unix

package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// createvm --name NAME [--basefolder DIR] [--register]
func createVM(c *cmd) error {
	opts, err := parseOpts(c.args, map[string]int{"--name": 1, "--basefolder": 1}, map[string]bool{"--register": true})
	if err != nil {
		return err
	}
	var name, base string
	register := false
	for _, o := range opts {
		switch o.name {
		case "--name":
			name = o.value
		case "--basefolder":
			base = o.value
		case "--register":
			register = true
		}
	}
	if name == "" {
		return syntaxf("Parameter --name is required")
	}
	if base == "" {
		h, _ := os.UserHomeDir()
		base = filepath.Join(h, "VirtualBox VMs")
	}
	if !filepath.IsAbs(base) {
		return failf("Path '%s' is not absolute", base)
	}
	v := &VM{UUID: newUUID(), Name: name, Dir: filepath.Join(base, name), OSType: "Other", Memory: 128, CPUs: 1,
		ACPI: "on", IOAPIC: "on", RTCUseUTC: "off", Paravirt: "default", Boot: [4]string{"floppy", "dvd", "disk", "none"},
		UART1: "off", UARTMode1: "disconnected", Attachments: map[string]Attachment{}, ExtraData: map[string]string{}}
	for i := range v.NICType {
		v.NICType[i] = "82540EM"
	}
	v.NIC[0], v.MACAddress[0] = "nat", generateMAC()
	v.setState("poweroff")
	if _, err := os.Stat(v.settingsFile()); err == nil {
		return failf("Machine settings file '%s' already exists", v.settingsFile()).
			details("VBOX_E_FILE_ERROR (0x80bb0004)", "MachineWrap", "IMachine").
			context("CreateMachine(bstrSettingsFile.raw(), bstrName.raw(), ...)", "VBoxManageMisc.cpp", 420)
	}
	if register {
		for _, x := range c.reg.VMs {
			if x.Name == name {
				return failf("A machine named '%s' already exists", name)
			}
		}
	}
	if err := os.MkdirAll(v.Dir, 0o755); err != nil {
		return failf("Could not create the directory '%s' (%v)", v.Dir, err)
	}
	if err := os.WriteFile(v.settingsFile(), []byte("<!-- tender VBoxManage simulator: settings live in "+c.reg.home+" -->\n"), 0o644); err != nil {
		return failf("%v", err)
	}
	if register {
		c.reg.VMs = append(c.reg.VMs, v)
		fmt.Fprintf(c.stdout, "Virtual machine '%s' is created and registered.\n", name)
	} else {
		fmt.Fprintf(c.stdout, "Virtual machine '%s' is created.\n", name)
	}
	fmt.Fprintf(c.stdout, "UUID: %s\nSettings file: '%s'\n", v.UUID, v.settingsFile())
	return nil
}

// The values modifyvm accepts, from the manual.
var (
	onOff     = set("on", "off")
	osTypes   = set("Linux26_64", "Linux26", "Linux_64", "Linux", "Debian_64", "Ubuntu_64", "Other", "Other_64")
	paravirts = set("none", "default", "legacy", "minimal", "hyperv", "kvm")
	bootDevs  = set("none", "floppy", "dvd", "disk", "net")
	// nicModes are --nicN's words (case does not matter), with "hostif",
	// the old word for bridged.
	nicModes = map[string]string{"none": "none", "null": "null", "nat": "nat", "bridged": "bridged", "hostif": "bridged",
		"intnet": "intnet", "hostonly": "hostonly", "generic": "generic", "natnetwork": "natnetwork"}
	nicTypes   = []string{"Am79C970A", "Am79C973", "82540EM", "82543GC", "82545EM", "virtio"}
	controller = map[string]map[string]bool{
		"sata": set("IntelAhci"), "ide": set("PIIX3", "PIIX4", "ICH6"),
	}
)

func set(vals ...string) map[string]bool {
	m := map[string]bool{}
	for _, v := range vals {
		m[v] = true
	}
	return m
}

func invalid(opt, val string) error {
	return syntaxf("Invalid %s argument '%s'", strings.TrimPrefix(opt, "--"), val)
}

// modifyvm VM option...: only the options tender uses. Options apply in
// order, so "--natpf1 delete ssh --natpf1 ssh,…" replaces a rule.
func modifyVM(c *cmd) error {
	if len(c.args) < 1 {
		return syntaxf("Not enough parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageModifyVM.cpp", 572)
	if err != nil {
		return err
	}
	args := c.args[1:]
	if len(args) == 0 {
		return syntaxf("No options specified")
	}
	if err := mutable(v, "VBoxManageModifyVM.cpp", 591); err != nil {
		return err
	}
	next := func(i *int, opt string) (string, error) {
		*i++
		if *i >= len(args) {
			return "", syntaxf("Missing argument to '%s'", opt)
		}
		return args[*i], nil
	}
	for i := 0; i < len(args); i++ {
		opt, val, hasEq := strings.Cut(args[i], "=")
		if !hasEq {
			var err error
			if val, err = next(&i, opt); err != nil {
				return err
			}
		}
		base, n := splitIndex(opt)
		switch {
		case opt == "--ostype":
			if !osTypes[val] {
				return failf("Guest OS type '%s' is invalid", val)
			}
			v.OSType = val
		case opt == "--memory":
			m, err := strconv.Atoi(val)
			if err != nil || m < 4 || m > 2097152 {
				return failf("Invalid RAM size: %s MB", val)
			}
			v.Memory = m
		case opt == "--cpus":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 64 {
				return failf("Invalid number of CPUs: %s", val)
			}
			v.CPUs = n
		case opt == "--acpi" || opt == "--ioapic" || opt == "--rtcuseutc":
			if !onOff[val] {
				return invalid(opt, val)
			}
			*map[string]*string{"--acpi": &v.ACPI, "--ioapic": &v.IOAPIC, "--rtcuseutc": &v.RTCUseUTC}[opt] = val
		case opt == "--paravirtprovider":
			if !paravirts[val] {
				return invalid(opt, val)
			}
			v.Paravirt = val
		case base == "--boot" && n >= 1 && n <= 4:
			if !bootDevs[val] {
				return invalid(opt, val)
			}
			v.Boot[n-1] = val
		case base == "--nic" && n >= 1 && n <= 8:
			if err := setNIC(v, n, val); err != nil {
				return err
			}
		case base == "--nictype" && n >= 1 && n <= 8:
			i := slices.IndexFunc(nicTypes, func(t string) bool { return strings.EqualFold(t, val) })
			if i < 0 {
				return failf("Invalid NIC type '%s' specified for NIC %d", val, n)
			}
			v.NICType[n-1] = nicTypes[i]
		case base == "--intnet" && n >= 1 && n <= 8:
			if strings.EqualFold(val, "none") {
				val = ""
			}
			if val == "" && v.NIC[n-1] == "intnet" {
				return failf("Empty or null internal network name is not valid").
					details("E_FAIL (0x80004005)", "NetworkAdapterWrap", "INetworkAdapter").
					context("COMSETTER(InternalNetwork)(Bstr(ValueUnion.psz).raw())", "VBoxManageModifyVM.cpp", 1817)
			}
			v.IntNet[n-1] = val
		case base == "--macaddress" && n >= 1 && n <= 8:
			if err := setMAC(v, n, val); err != nil {
				return err
			}
		case base == "--cableconnected" && n >= 1 && n <= 8:
			// An on/off option: RTGetOpt rejects other words as it
			// rejects an unknown option.
			if !onOff[strings.ToLower(val)] {
				return syntaxf("Unknown option: %s", val)
			}
			v.CableConnected[n-1] = strings.ToLower(val)
		case base == "--hostonlyadapter" && n >= 1 && n <= 8:
			if c.reg.hostOnly(val) == nil {
				return failf("Host-only interface '%s' does not exist", val)
			}
			v.HostOnlyAdapter[n-1] = val
		case base == "--natpf" && n == 1:
			if val == "delete" {
				name, err := next(&i, opt)
				if err != nil {
					return err
				}
				if err := deleteRule(v, name); err != nil {
					return err
				}
				continue
			}
			if err := addRule(v, val); err != nil {
				return err
			}
		case base == "--natpf" && n >= 2 && n <= 8:
			return failf("NIC %d is not simulated (tender uses NAT on NIC 1 only)", n)
		case opt == "--uart1":
			if val == "off" {
				v.UART1 = "off"
				continue
			}
			irq, err := next(&i, opt)
			if err != nil {
				return err
			}
			if _, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(val), "0x"), 16, 16); err != nil {
				return invalid(opt, val)
			}
			if _, err := strconv.Atoi(irq); err != nil {
				return invalid(opt, irq)
			}
			v.UART1 = val + " " + irq
		case opt == "--uartmode1":
			switch val {
			case "disconnected":
				v.UARTMode1 = val
			case "file":
				p, err := next(&i, opt)
				if err != nil {
					return err
				}
				if !filepath.IsAbs(p) {
					return failf("The serial port file path '%s' is not absolute", p)
				}
				v.UARTMode1 = "file " + p
			case "server", "client", "tcpserver", "tcpclient":
				return failf("uart mode %q is not simulated (tender uses file)", val)
			default:
				return invalid(opt, val)
			}
		default:
			return syntaxf("Unknown option: %s", opt)
		}
	}
	return nil
}

// enabled reports whether NIC n (1-based) is on.
func (v *VM) enabled(n int) bool { return v.NIC[n-1] != "" && v.NIC[n-1] != "none" }

// setNIC is --nicN: "none" turns the NIC off; any other mode turns it on,
// with a MAC address generated if it has none, and an internal network
// named "intnet" if none was given, as VirtualBox does.
func setNIC(v *VM, n int, val string) error {
	mode, ok := nicModes[strings.ToLower(val)]
	if !ok {
		return failf("Invalid type '%s' specfied for NIC %d", val, n) // sic: VirtualBox's spelling
	}
	if mode != "none" {
		if v.MACAddress[n-1] == "" {
			v.MACAddress[n-1] = generateMAC()
		}
		if v.IntNet[n-1] == "" {
			v.IntNet[n-1] = "intnet"
		}
	}
	v.NIC[n-1] = mode
	return nil
}

// setMAC is --macaddressN: "auto" generates one (on an enabled NIC), and
// anything else must be what VirtualBox takes: exactly 12 hex digits
// without separators, of a unicast address (the second digit even). It is
// stored in upper case.
func setMAC(v *VM, n int, val string) error {
	if strings.EqualFold(val, "auto") {
		v.MACAddress[n-1] = ""
		if v.enabled(n) {
			v.MACAddress[n-1] = generateMAC()
		}
		return nil
	}
	mac := strings.ToUpper(val)
	if len(mac) != 12 || strings.Trim(mac, "0123456789ABCDEF") != "" || hexValue(mac[1])%2 != 0 {
		return failf("Invalid MAC address format").
			details("E_INVALIDARG (0x80070057)", "NetworkAdapterWrap", "INetworkAdapter").
			context("COMSETTER(MACAddress)(Bstr(ValueUnion.psz).raw())", "VBoxManageModifyVM.cpp", 1957)
	}
	v.MACAddress[n-1] = mac
	return nil
}

func hexValue(c byte) int {
	if c >= 'A' {
		return int(c-'A') + 10
	}
	return int(c - '0')
}

// generateMAC is a MAC address in VirtualBox's range, 08:00:27:xx:xx:xx.
func generateMAC() string {
	b := make([]byte, 3)
	rand.Read(b)
	return fmt.Sprintf("080027%X", b)
}

// splitIndex splits "--natpf1" into "--natpf" and 1.
func splitIndex(opt string) (string, int) {
	base := strings.TrimRight(opt, "0123456789")
	if base == opt {
		return opt, 0
	}
	n, _ := strconv.Atoi(opt[len(base):])
	return base, n
}

// parseRule checks name,proto,hostip,hostport,guestip,guestport.
func parseRule(s string) ([]string, error) {
	f := strings.Split(s, ",")
	if len(f) != 6 {
		return nil, syntaxf("Invalid NAT rule '%s': the format is [<rulename>],tcp|udp,[<hostip>],<hostport>,[<guestip>],<guestport>", s)
	}
	if f[1] != "tcp" && f[1] != "udp" {
		return nil, failf("Invalid proto '%s' specified for NAT rule", f[1])
	}
	for _, p := range []string{f[3], f[5]} {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, failf("Invalid port '%s' in NAT rule '%s'", p, s)
		}
	}
	for _, ip := range []string{f[2], f[4]} {
		if ip != "" && net.ParseIP(ip) == nil {
			return nil, failf("Invalid IP address '%s' in NAT rule '%s'", ip, s)
		}
	}
	if f[0] == "" {
		f[0] = f[1] + "_" + f[3] + "_" + f[5]
	}
	return f, nil
}

func addRule(v *VM, s string) error {
	f, err := parseRule(s)
	if err != nil {
		return err
	}
	for _, r := range v.Forwarding {
		g := strings.Split(r, ",")
		if g[0] == f[0] {
			return failf("A NAT rule of this name already exists").
				details("E_INVALIDARG (0x80070057)", "NATEngineWrap", "INATEngine")
		}
		if g[1] == f[1] && g[2] == f[2] && g[3] == f[3] {
			return failf("A NAT rule for this host port and this host IP already exists").
				details("E_INVALIDARG (0x80070057)", "NATEngineWrap", "INATEngine")
		}
	}
	v.Forwarding = append(v.Forwarding, strings.Join(f, ","))
	return nil
}

func deleteRule(v *VM, name string) error {
	for i, r := range v.Forwarding {
		if strings.Split(r, ",")[0] == name {
			v.Forwarding = append(v.Forwarding[:i], v.Forwarding[i+1:]...)
			return nil
		}
	}
	return failf("A NAT rule of this name does not exist").
		details("E_INVALIDARG (0x80070057)", "NATEngineWrap", "INATEngine")
}

// storagectl VM --name NAME --add BUS [--controller CHIP] [--portcount N] [--bootable on|off]
func storageCtl(c *cmd) error {
	if len(c.args) < 1 {
		return syntaxf("Not enough parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageStorageController.cpp", 1105)
	if err != nil {
		return err
	}
	opts, err := parseOpts(c.args[1:], map[string]int{"--name": 1, "--add": 1, "--controller": 1, "--portcount": 1, "--bootable": 1}, nil)
	if err != nil {
		return err
	}
	if err := mutable(v, "VBoxManageStorageController.cpp", 1120); err != nil {
		return err
	}
	ctl := Controller{PortCount: 30, Bootable: "on"}
	for _, o := range opts {
		switch o.name {
		case "--name":
			ctl.Name = o.value
		case "--add":
			if controller[o.value] == nil {
				return failf("Storage bus '%s' is not simulated (tender uses sata)", o.value)
			}
			ctl.Bus = o.value
		case "--controller":
			ctl.Chip = o.value
		case "--portcount":
			n, err := strconv.Atoi(o.value)
			if err != nil || n < 1 || n > 30 {
				return failf("Invalid --portcount argument '%s'", o.value)
			}
			ctl.PortCount = n
		case "--bootable":
			if !onOff[o.value] {
				return invalid(o.name, o.value)
			}
			ctl.Bootable = o.value
		}
	}
	if ctl.Name == "" || ctl.Bus == "" {
		return syntaxf("Storage controller name and --add are required (only adding is simulated)")
	}
	if ctl.Chip == "" {
		ctl.Chip = map[string]string{"sata": "IntelAhci", "ide": "PIIX4"}[ctl.Bus]
	}
	if !controller[ctl.Bus][ctl.Chip] {
		return failf("Invalid --type argument '%s'", ctl.Chip)
	}
	for _, x := range v.Controllers {
		if x.Name == ctl.Name {
			return failf("Storage controller named '%s' already exists", ctl.Name).
				details("VBOX_E_OBJECT_IN_USE (0x80bb000c)", "SessionMachine", "IMachine")
		}
	}
	v.Controllers = append(v.Controllers, ctl)
	return nil
}

// storageattach VM --storagectl NAME --port N --device N --type dvddrive|hdd --medium PATH|none|emptydrive
func storageAttach(c *cmd) error {
	if len(c.args) < 1 {
		return syntaxf("Not enough parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageStorageController.cpp", 365)
	if err != nil {
		return err
	}
	opts, err := parseOpts(c.args[1:], map[string]int{"--storagectl": 1, "--port": 1, "--device": 1, "--type": 1, "--medium": 1}, nil)
	if err != nil {
		return err
	}
	if err := mutable(v, "VBoxManageStorageController.cpp", 380); err != nil {
		return err
	}
	vals := map[string]string{}
	for _, o := range opts {
		vals[o.name] = o.value
	}
	if vals["--storagectl"] == "" {
		return syntaxf("Storage controller name not specified")
	}
	var ctl *Controller
	for i := range v.Controllers {
		if v.Controllers[i].Name == vals["--storagectl"] {
			ctl = &v.Controllers[i]
		}
	}
	if ctl == nil {
		return failf("Could not find a controller named '%s'", vals["--storagectl"])
	}
	port, err1 := strconv.Atoi(vals["--port"])
	dev, err2 := strconv.Atoi(vals["--device"])
	if err1 != nil || err2 != nil || port < 0 || port >= ctl.PortCount || dev != 0 {
		return failf("The port and/or device parameter are out of range: port=%s (must be in range [0, %d]), device=%s (must be in range [0, 0])", vals["--port"], ctl.PortCount-1, vals["--device"])
	}
	key := fmt.Sprintf("%s-%d-%d", ctl.Name, port, dev)
	medium := vals["--medium"]
	typ := vals["--type"]
	if medium == "none" {
		delete(v.Attachments, key)
		return nil
	}
	if typ != "dvddrive" && typ != "hdd" {
		return failf("Invalid --type argument '%s' (the simulator knows dvddrive and hdd)", typ)
	}
	if medium == "" {
		return syntaxf("Missing --medium")
	}
	if !filepath.IsAbs(medium) {
		return failf("Cannot open the medium '%s': the simulator takes absolute paths only", medium)
	}
	if err := checkMedium(typ, medium); err != nil {
		return err
	}
	for k, a := range v.Attachments {
		if a.Medium == medium && k != key {
			return failf("Medium '%s' is already attached to this VM at %s", medium, k)
		}
	}
	v.Attachments[key] = Attachment{Type: typ, Medium: medium}
	return nil
}

// checkMedium opens a medium as VirtualBox would: an ISO must have its
// ISO 9660 signature, a disk must be a VMDK.
func checkMedium(typ, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return failf("Could not find file for the medium '%s' (VERR_FILE_NOT_FOUND)", path).
			details("VBOX_E_FILE_ERROR (0x80bb0004)", "MediumWrap", "IMedium")
	}
	defer f.Close()
	if typ == "dvddrive" {
		magic := make([]byte, 5)
		if _, err := f.ReadAt(magic, 32769); err != nil || string(magic) != "CD001" {
			return failf("Could not get the storage format of the medium '%s' (VERR_NOT_SUPPORTED)", path)
		}
		return nil
	}
	head := make([]byte, 21)
	n, _ := io.ReadFull(f, head)
	if !bytes.HasPrefix(head[:n], []byte("KDMV")) && !bytes.HasPrefix(head[:n], []byte("# Disk DescriptorFile")) {
		return failf("Could not get the storage format of the medium '%s' (VERR_NOT_SUPPORTED)", path)
	}
	return nil
}

// convertfromraw stdin OUTPUT BYTES [--format VMDK|VDI|VHD]: the simulator
// writes a monolithicFlat VMDK (a descriptor plus a sparse OUTPUT-flat
// extent), which QEMU reads; only --format VMDK is simulated.
func convertFromRaw(c *cmd) error {
	if len(c.args) < 1 || c.args[0] != "stdin" {
		return syntaxf("Only 'convertfromraw stdin <outputfile> <bytes>' is simulated")
	}
	if len(c.args) < 3 {
		return syntaxf("Incorrect number of parameters")
	}
	out, sizeArg := c.args[1], c.args[2]
	opts, err := parseOpts(c.args[3:], map[string]int{"--format": 1}, nil)
	if err != nil {
		return err
	}
	format := "VDI"
	for _, o := range opts {
		format = o.value
	}
	if format != "VMDK" {
		return failf("Format '%s' is not simulated (tender uses VMDK)", format)
	}
	size, err := strconv.ParseInt(sizeArg, 10, 64)
	if err != nil || size <= 0 {
		return failf("Invalid size '%s'", sizeArg)
	}
	if size%512 != 0 {
		return failf("The size %d is not a multiple of 512 bytes", size)
	}
	abs, _ := filepath.Abs(out)
	fmt.Fprintf(c.stdout, "Converting from raw image file=\"stdin\" to file=\"%s\"...\nCreating dynamic image with size %d bytes (%dMB)...\n", abs, size, size>>20)
	if _, err := os.Stat(abs); err == nil {
		return failf("Cannot create the disk image \"%s\": VERR_ALREADY_EXISTS", abs)
	}
	flat := strings.TrimSuffix(abs, filepath.Ext(abs)) + "-flat.vmdk"
	f, err := os.OpenFile(flat, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return failf("Cannot create the disk image \"%s\": %v", abs, err)
	}
	if err := copySparse(f, c.stdin, size); err != nil {
		f.Close()
		os.Remove(flat)
		return failf("Cannot write the disk image \"%s\" from standard input: %v", abs, err)
	}
	if err := f.Close(); err != nil {
		return failf("%v", err)
	}
	desc := fmt.Sprintf(`# Disk DescriptorFile
# written by the tender VBoxManage simulator
version=1
CID=%08x
parentCID=ffffffff
createType="monolithicFlat"

# Extent description
RW %d FLAT "%s" 0

# The Disk Data Base
#DDB

ddb.virtualHWVersion = "4"
ddb.adapterType="ide"
ddb.uuid.image="%s"
`, time.Now().UnixNano()&0xffffffff, size/512, filepath.Base(flat), newUUID())
	if err := os.WriteFile(abs, []byte(desc), 0o600); err != nil {
		os.Remove(flat)
		return failf("%v", err)
	}
	return nil
}

// copySparse writes exactly size bytes from r into f, seeking over zero
// blocks so the file stays sparse.
func copySparse(f *os.File, r io.Reader, size int64) error {
	buf := make([]byte, 1<<20)
	var done int64
	for done < size {
		want := int64(len(buf))
		if size-done < want {
			want = size - done
		}
		n, err := io.ReadFull(r, buf[:want])
		if n > 0 {
			if allZero(buf[:n]) {
				if _, err := f.Seek(int64(n), io.SeekCurrent); err != nil {
					return err
				}
			} else if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
			done += int64(n)
		}
		if err != nil {
			if done < size {
				return fmt.Errorf("standard input ended after %d of %d bytes (VERR_EOF)", done, size)
			}
			break
		}
	}
	return f.Truncate(size)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// sharedfolder add VM --name NAME --hostpath PATH [--readonly] [--automount]
func sharedFolder(c *cmd) error {
	if len(c.args) < 2 || c.args[0] != "add" {
		return syntaxf("Only 'sharedfolder add' is simulated")
	}
	v, err := c.reg.find(c.args[1], "VBoxManageMisc.cpp", 1130)
	if err != nil {
		return err
	}
	opts, err := parseOpts(c.args[2:], map[string]int{"--name": 1, "--hostpath": 1}, map[string]bool{"--readonly": true, "--automount": true})
	if err != nil {
		return err
	}
	var sf SharedFolder
	for _, o := range opts {
		switch o.name {
		case "--name":
			sf.Name = o.value
		case "--hostpath":
			sf.HostPath = o.value
		case "--readonly":
			sf.ReadOnly = true
		case "--automount":
			sf.AutoMount = true
		}
	}
	if sf.Name == "" || sf.HostPath == "" {
		return syntaxf("Parameters --name and --hostpath are required")
	}
	if err := mutable(v, "VBoxManageMisc.cpp", 1145); err != nil {
		return err
	}
	if !filepath.IsAbs(sf.HostPath) {
		return failf("Shared folder path '%s' is not absolute", sf.HostPath)
	}
	if st, err := os.Stat(sf.HostPath); err != nil || !st.IsDir() {
		return failf("Shared folder path '%s' does not exist on the host", sf.HostPath)
	}
	for _, x := range v.SharedFolders {
		if x.Name == sf.Name {
			return failf("Shared folder named '%s' already exists", sf.Name).
				details("VBOX_E_OBJECT_IN_USE (0x80bb000c)", "SharedFolderWrap", "IMachine")
		}
	}
	v.SharedFolders = append(v.SharedFolders, sf)
	return nil
}

// setextradata VM|global KEY [VALUE]: no value deletes the key.
func setExtraData(c *cmd) error {
	if len(c.args) < 2 || len(c.args) > 3 {
		return syntaxf("Incorrect number of parameters")
	}
	if c.args[0] == "global" {
		return failf("Global extra data is not simulated")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageMisc.cpp", 760)
	if err != nil {
		return err
	}
	if len(c.args) == 2 {
		delete(v.ExtraData, c.args[1])
		return nil
	}
	v.ExtraData[c.args[1]] = c.args[2]
	return nil
}

// showvminfo VM --machinereadable
func showVMInfo(c *cmd) error {
	if len(c.args) != 2 || c.args[1] != "--machinereadable" {
		if len(c.args) >= 2 && strings.HasPrefix(c.args[1], "-") && c.args[1] != "--machinereadable" {
			return syntaxf("Unknown option: %s", c.args[1])
		}
		return syntaxf("Only 'showvminfo <vm> --machinereadable' is simulated")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageInfo.cpp", 2883)
	if err != nil {
		return err
	}
	w := c.stdout
	q := func(k, val string) { fmt.Fprintf(w, "%s=\"%s\"\n", k, val) }
	q("name", v.Name)
	q("groups", "/")
	q("ostype", v.OSType)
	q("UUID", v.UUID)
	q("CfgFile", v.settingsFile())
	q("SnapFldr", filepath.Join(v.Dir, "Snapshots"))
	q("LogFldr", filepath.Join(v.Dir, "Logs"))
	fmt.Fprintf(w, "memory=%d\n", v.Memory)
	fmt.Fprintf(w, "cpus=%d\n", v.CPUs)
	q("paravirtprovider", v.Paravirt)
	for i, b := range v.Boot {
		q(fmt.Sprintf("boot%d", i+1), b)
	}
	q("acpi", v.ACPI)
	q("ioapic", v.IOAPIC)
	q("rtcuseutc", v.RTCUseUTC)
	q("VMState", v.State)
	q("VMStateChangeTime", v.StateChange.Format("2006-01-02T15:04:05.000000000"))
	for i, ctl := range v.Controllers {
		q(fmt.Sprintf("storagecontrollername%d", i), ctl.Name)
		q(fmt.Sprintf("storagecontrollertype%d", i), ctl.Chip)
		q(fmt.Sprintf("storagecontrollerportcount%d", i), strconv.Itoa(ctl.PortCount))
		q(fmt.Sprintf("storagecontrollerbootable%d", i), ctl.Bootable)
		for p := 0; p < ctl.PortCount; p++ {
			key := fmt.Sprintf("%s-%d-0", ctl.Name, p)
			a, ok := v.Attachments[key]
			if !ok {
				if p < 2 {
					fmt.Fprintf(w, "\"%s\"=\"none\"\n", key)
				}
				continue
			}
			fmt.Fprintf(w, "\"%s\"=\"%s\"\n", key, a.Medium)
			if a.Type == "dvddrive" {
				fmt.Fprintf(w, "\"%s-IsEjected-%d-0\"=\"off\"\n", ctl.Name, p)
			}
		}
	}
	for i := range v.NIC {
		n := i + 1
		if !v.enabled(n) {
			q(fmt.Sprintf("nic%d", n), "none")
			continue
		}
		// VirtualBox's order: the attachment's own key, then the NIC's.
		word := v.NIC[i]
		switch v.NIC[i] {
		case "nat":
			q(fmt.Sprintf("natnet%d", n), "nat")
		case "intnet":
			q(fmt.Sprintf("intnet%d", n), v.IntNet[i])
		case "hostonly":
			q(fmt.Sprintf("hostonlyadapter%d", n), v.HostOnlyAdapter[i])
		case "bridged":
			q(fmt.Sprintf("bridgeadapter%d", n), "")
		case "natnetwork":
			q(fmt.Sprintf("nat-network%d", n), "NatNetwork")
		case "generic":
			q(fmt.Sprintf("generic%d", n), "")
			word = "Generic"
		}
		cable := v.CableConnected[i]
		if cable == "" {
			cable = "on"
		}
		q(fmt.Sprintf("macaddress%d", n), v.MACAddress[i])
		q(fmt.Sprintf("cableconnected%d", n), cable)
		q(fmt.Sprintf("nic%d", n), word)
		q(fmt.Sprintf("nictype%d", n), v.NICType[i])
		q(fmt.Sprintf("nicspeed%d", n), "0")
		if v.NIC[i] == "nat" {
			fmt.Fprintf(w, "mtu=\"0\"\nsockSnd=\"64\"\nsockRcv=\"64\"\ntcpWndSnd=\"64\"\ntcpWndRcv=\"64\"\n")
			if i == 0 {
				for j, r := range sortedRules(v.Forwarding) {
					q(fmt.Sprintf("Forwarding(%d)", j), r)
				}
			}
		}
	}
	if v.UART1 == "off" {
		q("uart1", "off")
	} else {
		f := strings.Fields(v.UART1)
		port, _ := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(f[0]), "0x"), 16, 16)
		q("uart1", fmt.Sprintf("0x%04x,%s", port, f[1]))
		q("uartmode1", strings.Replace(v.UARTMode1, " ", ",", 1))
	}
	for i, sf := range v.SharedFolders {
		q(fmt.Sprintf("SharedFolderNameMachineMapping%d", i+1), sf.Name)
		q(fmt.Sprintf("SharedFolderPathMachineMapping%d", i+1), sf.HostPath)
	}
	return nil
}

// list vms|runningvms|hostonlyifs|dhcpservers
func list(c *cmd) error {
	if len(c.args) != 1 {
		return syntaxf("Incorrect number of parameters")
	}
	w := c.stdout
	switch c.args[0] {
	case "vms", "runningvms":
		for _, v := range c.reg.VMs {
			if c.args[0] == "runningvms" && v.State != "running" && v.State != "paused" {
				continue
			}
			fmt.Fprintf(w, "\"%s\" {%s}\n", v.Name, v.UUID)
		}
	case "hostonlyifs":
		for i, h := range c.reg.HostOnly {
			dhcp := "Disabled"
			if srv := c.reg.dhcpServer(hostOnlyNetwork(h.Name)); srv != nil && srv.Enabled {
				dhcp = "Enabled"
			}
			fmt.Fprintf(w, "Name:            %s\nGUID:            786f6276-656e-4%03x-8000-0a00270000%02x\nDHCP:            %s\nIPAddress:       %s\nNetworkMask:     %s\nIPV6Address:\nIPV6NetworkMaskPrefixLength: 0\nHardwareAddress: 0a:00:27:00:00:%02x\nMediumType:      Ethernet\nWireless:        No\nStatus:          Up\nVBoxNetworkName: %s\n\n",
				h.Name, i, i, dhcp, h.IP, h.Mask, i, hostOnlyNetwork(h.Name))
		}
	case "dhcpservers":
		// VirtualBox 6.1+'s layout, a blank line between servers.
		for i, srv := range c.reg.DHCPServers {
			if i > 0 {
				fmt.Fprintln(w)
			}
			enabled := "No"
			if srv.Enabled {
				enabled = "Yes"
			}
			fmt.Fprintf(w, "NetworkName:    %s\nDhcpd IP:       %s\nLowerIPAddress: %s\nUpperIPAddress: %s\nNetworkMask:    %s\nEnabled:        %s\n",
				srv.NetworkName, srv.IP, srv.Lower, srv.Upper, srv.Mask, enabled)
			fmt.Fprintf(w, "Global Configuration:\n%s        1/legacy: %s\nGroups:               None\n", dhcpConfigLines, srv.Mask)
			if len(srv.Hosts) == 0 {
				fmt.Fprintln(w, "Individual Configs:   None")
			}
			for _, h := range srv.Hosts {
				fixed := h.FixedAddress
				if fixed == "" {
					fixed = "dynamic"
				}
				fmt.Fprintf(w, "Individual Config:    MAC %s\n    Fixed Address:    %s\n%s", h.MAC, fixed, dhcpConfigLines)
			}
		}
	default:
		return syntaxf("Unknown subcommand '%s' (the simulator lists vms, runningvms, hostonlyifs and dhcpservers)", c.args[0])
	}
	return nil
}

func (r *registry) hostOnly(name string) *HostOnly {
	for _, h := range r.HostOnly {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// allowedHostOnly is what VirtualBox 6.1.28+ allows on Linux and macOS
// without /etc/vbox/networks.conf.
var allowedHostOnly = func() *net.IPNet { _, n, _ := net.ParseCIDR("192.168.56.0/21"); return n }()

// hostonlyif create | ipconfig IF --ip IP --netmask MASK
func hostOnlyIf(c *cmd) error {
	if len(c.args) == 1 && c.args[0] == "create" {
		name := fmt.Sprintf("vboxnet%d", len(c.reg.HostOnly))
		c.reg.HostOnly = append(c.reg.HostOnly, &HostOnly{Name: name, Created: time.Now().UTC()})
		fmt.Fprintf(c.stdout, "0%%...10%%...20%%...30%%...40%%...50%%...60%%...70%%...80%%...90%%...100%%\nInterface '%s' was successfully created\n", name)
		return nil
	}
	if len(c.args) < 2 || c.args[0] != "ipconfig" {
		return syntaxf("Only 'hostonlyif create' and 'hostonlyif ipconfig' are simulated")
	}
	h := c.reg.hostOnly(c.args[1])
	if h == nil {
		return failf("Could not find interface '%s'", c.args[1])
	}
	opts, err := parseOpts(c.args[2:], map[string]int{"--ip": 1, "--netmask": 1}, nil)
	if err != nil {
		return err
	}
	ip, mask := "", "255.255.255.0"
	for _, o := range opts {
		if o.name == "--ip" {
			ip = o.value
		} else {
			mask = o.value
		}
	}
	addr := net.ParseIP(ip)
	if addr == nil || addr.To4() == nil {
		return failf("Invalid IP address '%s'", ip)
	}
	if !allowedHostOnly.Contains(addr) {
		return failf("Code E_ACCESSDENIED (0x80070005) - Access denied (extended info not available)").
			context("EnableStaticIPConfig(Bstr(pszIp).raw(), Bstr(pszNetmask).raw())", "VBoxManageHostonly.cpp", 242)
	}
	h.IP, h.Mask = ip, mask
	return nil
}

// dhcpConfigLines are what `list dhcpservers` prints for a config level
// without lease times or options of its own.
const dhcpConfigLines = `    minLeaseTime:     default
    defaultLeaseTime: default
    maxLeaseTime:     default
    Forced options:   None
    Suppressed opts.: None
`

// hostOnlyNetwork is the network name of a host-only interface.
func hostOnlyNetwork(ifname string) string { return "HostInterfaceNetworking-" + ifname }

func (r *registry) dhcpServer(network string) *DHCPServer {
	for _, s := range r.DHCPServers {
		if s.NetworkName == network {
			return s
		}
	}
	return nil
}

// dhcpserver add|modify|remove: the grammar of VirtualBox 6.1 and 7.x
// (VBoxManageDHCPServer.cpp).
func dhcpServer(c *cmd) error {
	if len(c.args) < 1 {
		return syntaxf("Missing sub-command")
	}
	switch c.args[0] {
	case "add", "modify":
		return dhcpAddModify(c, c.args[0] == "add", c.args[1:])
	case "remove":
		return dhcpRemove(c, c.args[1:])
	case "start", "restart", "stop", "findlease":
		return syntaxf("'dhcpserver %s' is not simulated (tender uses add, modify and remove)", c.args[0])
	}
	return syntaxf("Invalid parameter '%s'", c.args[0])
}

// The options of dhcpserver add and modify: the ones the simulator knows,
// each with the deprecated spellings VirtualBox still takes, and the ones
// it does not simulate.
var (
	dhcpValued = map[string]int{"--network": 1, "--netname": 1, "--interface": 1, "--ifname": 1,
		"--server-ip": 1, "--ip": 1, "--netmask": 1, "--lower-ip": 1, "--lowerip": 1, "--upper-ip": 1, "--upperip": 1,
		"--mac-address": 1, "--fixed-address": 1}
	dhcpBools       = map[string]bool{"--enable": true, "--disable": true, "--global": true, "--remove-config": true}
	dhcpUnsimulated = set("--group", "--vm", "--nic", "--set-opt", "--set-opt-hex", "--del-opt", "--force-opt", "--unforce-opt",
		"--suppress-opt", "--unsuppress-opt", "--zap-options", "--min-lease-time", "--default-lease-time", "--max-lease-time",
		"--incl-mac", "--excl-mac", "--del-mac", "--incl-mac-wild", "--excl-mac-wild", "--del-mac-wild", "--incl-vendor",
		"--excl-vendor", "--del-vendor", "--incl-vendor-wild", "--excl-vendor-wild", "--del-vendor-wild", "--incl-user",
		"--excl-user", "--del-user", "--incl-user-wild", "--excl-user-wild", "--del-user-wild", "--zap-conditions")
)

// dhcpTarget is the server a dhcpserver command names: --network (or
// --netname) or --interface (or --ifname), not both.
type dhcpTarget struct{ network, iface string }

func (t *dhcpTarget) set(o opt) error {
	switch o.name {
	case "--network", "--netname":
		if t.iface != "" {
			return syntaxf("Either --network or --interface, not both")
		}
		t.network = o.value
	case "--interface", "--ifname":
		if t.network != "" {
			return syntaxf("Either --interface or --network, not both")
		}
		t.iface = o.value
	}
	return nil
}

// dhcpAddModify mirrors VirtualBox's two passes over the options: the first
// checks the command line and sets the server's addresses and --enable;
// the second applies the individual configs, each option in order (an
// option after --mac-address applies to that MAC, --remove-config drops
// the MAC's config and returns to the global scope). As in VirtualBox, a
// failure while applying does not undo what was applied before it: an add
// whose addresses are refused leaves the server created.
func dhcpAddModify(c *cmd, add bool, args []string) error {
	for _, a := range args {
		if name, _, _ := strings.Cut(a, "="); dhcpUnsimulated[name] {
			return syntaxf("Option '%s' is not simulated (tender uses --network, the addresses, --enable, --mac-address, --fixed-address and --remove-config)", name)
		}
	}
	opts, err := parseOpts(args, dhcpValued, dhcpBools)
	if err != nil {
		return err
	}
	var target dhcpTarget
	addrs := map[string]string{} // "ip", "netmask", "lower", "upper"
	enable := -1
	macScope := ""
	for _, o := range opts {
		if err := target.set(o); err != nil {
			return err
		}
		switch o.name {
		case "--server-ip", "--ip":
			addrs["ip"] = o.value
		case "--netmask":
			addrs["netmask"] = o.value
		case "--lower-ip", "--lowerip":
			addrs["lower"] = o.value
		case "--upper-ip", "--upperip":
			addrs["upper"] = o.value
		case "--enable":
			enable = 1
		case "--disable":
			enable = 0
		case "--global":
			macScope = ""
		case "--mac-address":
			mac, ok := parseDHCPMAC(o.value)
			if !ok {
				return syntaxf("Invalid argument format: %s", o.value)
			}
			macScope = mac
		case "--fixed-address":
			if macScope == "" {
				return syntaxf("--fixed-address can only be applied to a VM NIC or an MAC address")
			}
		case "--remove-config":
			if add {
				return syntaxf("--remove-config does not apply to the 'add' subcommand")
			}
			if macScope == "" {
				return syntaxf("--remove-config cannot be applied to the global config")
			}
			macScope = ""
		}
	}
	if target.network == "" && target.iface == "" {
		return syntaxf("You need to specify either --network or --interface to identify the DHCP server")
	}
	if add {
		var missing []string
		for _, k := range []struct{ key, opt string }{{"ip", "--ip"}, {"netmask", "--netmask"}, {"lower", "--lowerip"}, {"upper", "--upperip"}} {
			if _, ok := addrs[k.key]; !ok {
				missing = append(missing, "Missing required option: "+k.opt) // VirtualBox names the old spellings
			}
		}
		if missing != nil {
			return &vboxError{code: exitSyntax, lines: missing}
		}
	}
	network := target.network
	if target.iface != "" {
		if c.reg.hostOnly(target.iface) == nil {
			return &vboxError{code: exitSyntax, lines: []string{fmt.Sprintf("Could not find interface '%s'", target.iface)}}
		}
		network = hostOnlyNetwork(target.iface)
	}
	srv := c.reg.dhcpServer(network)
	switch {
	case add && srv != nil:
		return &vboxError{code: exitSyntax, lines: []string{"DHCP server already exists"}}
	case add:
		srv = &DHCPServer{NetworkName: network}
		c.reg.DHCPServers = append(c.reg.DHCPServers, srv)
	case srv == nil:
		return &vboxError{code: exitSyntax, lines: []string{"DHCP server does not exist"}}
	}

	var failure *vboxError
	if len(addrs) > 0 {
		cfg := map[string]string{"ip": srv.IP, "netmask": srv.Mask, "lower": srv.Lower, "upper": srv.Upper}
		maps.Copy(cfg, addrs)
		bad := ""
		for _, k := range []struct{ key, what string }{{"ip", "server address"}, {"netmask", "netmask"}, {"lower", "range lower address"}, {"upper", "range upper address"}} {
			if !isIPv4(cfg[k.key]) {
				bad = fmt.Sprintf("Invalid %s: %s", k.what, cfg[k.key])
				break
			}
		}
		if bad != "" {
			failure = &vboxError{code: exitSyntax, lines: []string{bad,
				"Details: code E_INVALIDARG (0x80070057), component DHCPServerWrap, interface IDHCPServer, callee nsISupports",
				fmt.Sprintf("Failed to set configuration (%s, %s, %s, %s)", cfg["ip"], cfg["netmask"], cfg["lower"], cfg["upper"])}}
		} else {
			srv.IP, srv.Mask, srv.Lower, srv.Upper = cfg["ip"], cfg["netmask"], cfg["lower"], cfg["upper"]
		}
	}
	if enable >= 0 {
		srv.Enabled = enable == 1
	}

	macScope = ""
	for _, o := range opts {
		switch o.name {
		case "--global":
			macScope = ""
		case "--mac-address":
			macScope, _ = parseDHCPMAC(o.value)
		case "--fixed-address":
			h := srv.host(macScope) // VirtualBox adds the config before it checks the address
			if o.value != "" && !isIPv4(o.value) {
				failure = failf("Invalid IPv4 address '%s': VERR_INVALID_PARAMETER", o.value).
					details("E_INVALIDARG (0x80070057)", "DHCPIndividualConfigWrap", "IDHCPIndividualConfig")
				continue
			}
			h.FixedAddress = o.value
		case "--remove-config":
			srv.Hosts = slices.DeleteFunc(srv.Hosts, func(h HostConfig) bool { return h.MAC == macScope })
			macScope = ""
		}
	}
	if failure != nil {
		c.saveOnError = true
		return failure
	}
	return nil
}

// host returns the individual config of mac, adding it when there is none.
func (s *DHCPServer) host(mac string) *HostConfig {
	for i := range s.Hosts {
		if s.Hosts[i].MAC == mac {
			return &s.Hosts[i]
		}
	}
	s.Hosts = append(s.Hosts, HostConfig{MAC: mac})
	return &s.Hosts[len(s.Hosts)-1]
}

// dhcpRemove is dhcpserver remove --network=NAME | --interface=IF.
func dhcpRemove(c *cmd, args []string) error {
	opts, err := parseOpts(args, map[string]int{"--network": 1, "--netname": 1, "--interface": 1, "--ifname": 1}, nil)
	if err != nil {
		return err
	}
	var target dhcpTarget
	for _, o := range opts {
		if err := target.set(o); err != nil {
			return err
		}
	}
	// VirtualBox prints these as syntax errors but exits with 1.
	network := target.network
	switch {
	case target.network == "" && target.iface == "":
		return failf("You need to specify either --network or --interface to identify the DHCP server")
	case target.iface != "":
		if c.reg.hostOnly(target.iface) == nil {
			return failf("Failed to locate host-only interface '%s'", target.iface)
		}
		network = hostOnlyNetwork(target.iface)
	}
	srv := c.reg.dhcpServer(network)
	if srv == nil {
		if target.iface != "" {
			return failf("Failed to find DHCP server for host-only interface '%s' (network '%s')", target.iface, network)
		}
		return failf("Failed to find DHCP server for network '%s'", network)
	}
	c.reg.DHCPServers = slices.DeleteFunc(c.reg.DHCPServers, func(s *DHCPServer) bool { return s == srv })
	return nil
}

// parseDHCPMAC reads a MAC address as VirtualBox's --mac-address does
// (RTNetStrToMacAddr): 12 hex digits, or six colon-separated groups of one
// or two, and returns it as VirtualBox prints it, "52:54:00:0a:0b:0c".
func parseDHCPMAC(s string) (string, bool) {
	s = strings.TrimSpace(s)
	var b [6]byte
	if len(s) == 12 && !strings.Contains(s, ":") {
		if _, err := hex.Decode(b[:], []byte(s)); err != nil {
			return "", false
		}
	} else {
		parts := strings.Split(s, ":")
		if len(parts) != 6 {
			return "", false
		}
		for i, p := range parts {
			if len(p) > 2 || (p == "" && (i == 0 || i == 5)) {
				return "", false
			}
			if p == "" {
				continue // VirtualBox reads "08::27:…" as 08:00:27:…
			}
			n, err := strconv.ParseUint(p, 16, 8)
			if err != nil {
				return "", false
			}
			b[i] = byte(n)
		}
	}
	return net.HardwareAddr(b[:]).String(), true
}

// isIPv4 is VirtualBox's RTNetStrToIPv4Addr: four dot-separated decimal
// numbers up to 255.
func isIPv4(s string) bool {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 3 || n < 0 || n > 255 || strings.ContainsAny(p, "+-") {
			return false
		}
	}
	return true
}
