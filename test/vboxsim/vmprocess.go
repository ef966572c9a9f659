//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tenderdev/tender/shellquote"
	"github.com/tenderdev/tender/test/kvmprobe"
)

// vmProcessEnv, when set to a VM's UUID, makes the program the VM process
// (VirtualBox's VBoxHeadless): it runs QEMU and records how it ended. It is
// not a VBoxManage command, so the command grammar cannot reach it.
const vmProcessEnv = "VBOXSIM_VMPROCESS"

// qemuEnv overrides the QEMU program (default qemu-system-x86_64).
const qemuEnv = "VBOXSIM_QEMU"

// argvFile holds the QEMU argv startvm built for the VM process.
func (r *registry) argvFile(v *VM) string { return filepath.Join(r.home, "run", v.UUID+".argv") }

func logDir(v *VM) string { return filepath.Join(v.Dir, "Logs") }

// accel is kvm when /dev/kvm can be opened and boots the VM's DVD (the
// ISO) here, else tcg: a host that is itself a VM may have a KVM that
// stops the guest at its boot loader, which VirtualBox on such a host
// would not meet (it brings its own hypervisor).
func accel(v *VM, qemu string) string {
	dvd := ""
	for _, a := range v.Attachments {
		if a.Type == "dvddrive" && a.Medium != "" && a.Medium != "emptydrive" {
			dvd = a.Medium
		}
	}
	if dvd != "" {
		if kvmprobe.Usable(qemu, dvd) {
			return "kvm"
		}
		return "tcg"
	}
	if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err == nil {
		f.Close()
		return "kvm"
	}
	return "tcg"
}

// escapeOpt doubles commas inside a QEMU option value.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// qemuArgv is the QEMU command line that plays VM v: q35 (its AHCI
// controller is the SATA controller: port P is bus ide.P), the DVD and the
// VMDK disk on their ports with the boot order as bootindex, NIC 1's NAT as
// user networking with the rules as hostfwd, UART 1 to its file, and the
// monitor on qmp. incoming, when set, restores a saved state.
//
// A monolithicFlat VMDK (what this simulator's convertfromraw writes) is
// attached through its extent, flatExtent(descriptor), as a raw image:
// QEMU's vmdk driver blocks migration, and savestate is a migration to a
// file. Sparse VMDKs are attached as vmdk.
func qemuArgv(v *VM, qemu, qmp, accel, incoming string, flatExtent func(string) string) ([]string, error) {
	args := []string{qemu, "-name", v.Name, "-machine", "q35", "-nodefaults", "-display", "none"}
	// One TCG thread for all vCPUs: under multi-threaded TCG the guest
	// kernel oopsed here twice (int3 at a live-patched static key in
	// kmem_cache_*, then a panic) at the first container start, once after
	// a cold boot and once after a restore.
	acc := accel
	if accel == "tcg" {
		acc += ",thread=single"
	}
	args = append(args, "-accel", acc)
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	} else {
		args = append(args, "-cpu", "max")
	}
	args = append(args, "-m", strconv.Itoa(v.Memory), "-smp", strconv.Itoa(v.CPUs))
	if v.RTCUseUTC == "on" {
		args = append(args, "-rtc", "base=utc")
	} else {
		args = append(args, "-rtc", "base=localtime")
	}
	if v.ACPI == "off" {
		return nil, fmt.Errorf("ACPI off is not simulated")
	}
	bootRank := map[string]int{}
	for i, b := range v.Boot {
		if _, ok := bootRank[b]; !ok && b != "none" {
			bootRank[b] = i
		}
	}
	keys := make([]string, 0, len(v.Attachments))
	for k := range v.Attachments {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		a := v.Attachments[k]
		parts := strings.Split(k, "-")
		ctl := strings.Join(parts[:len(parts)-2], "-")
		port := parts[len(parts)-2]
		var c *Controller
		for i := range v.Controllers {
			if v.Controllers[i].Name == ctl {
				c = &v.Controllers[i]
			}
		}
		if c == nil || c.Bus != "sata" {
			return nil, fmt.Errorf("attachment %s: only SATA controllers are simulated", k)
		}
		if p, _ := strconv.Atoi(port); p > 5 {
			return nil, fmt.Errorf("attachment %s: the simulator's AHCI has ports 0-5", k)
		}
		id := "sata" + port
		switch a.Type {
		case "dvddrive":
			args = append(args, "-drive", "if=none,id="+id+",media=cdrom,readonly=on,format=raw,file="+escapeOpt(a.Medium))
			dev := "ide-cd,drive=" + id + ",bus=ide." + port
			if r, ok := bootRank["dvd"]; ok {
				dev += ",bootindex=" + strconv.Itoa(r)
			}
			args = append(args, "-device", dev)
		case "hdd":
			if ext := flatExtent(a.Medium); ext != "" {
				args = append(args, "-drive", "if=none,id="+id+",format=raw,file="+escapeOpt(ext))
			} else {
				args = append(args, "-drive", "if=none,id="+id+",format=vmdk,file="+escapeOpt(a.Medium))
			}
			dev := "ide-hd,drive=" + id + ",bus=ide." + port
			if r, ok := bootRank["disk"]; ok {
				dev += ",bootindex=" + strconv.Itoa(r)
			}
			args = append(args, "-device", dev)
		}
	}
	switch v.NIC[0] {
	case "nat":
		netdev := "user,id=net0"
		for _, r := range sortedRules(v.Forwarding) {
			f := strings.Split(r, ",")
			netdev += fmt.Sprintf(",hostfwd=%s:%s:%s-%s:%s", f[1], f[2], f[3], f[4], f[5])
		}
		model := "e1000"
		if v.NICType[0] == "virtio" {
			model = "virtio-net-pci"
		}
		args = append(args, "-netdev", netdev, "-device", model+",netdev=net0")
	case "", "none", "null":
	default:
		return nil, fmt.Errorf("NIC 1 mode %q is not simulated (tender uses nat)", v.NIC[0])
	}
	// NICs 2 to 8 (host-only, internal networks) are recorded, not given to
	// the guest: it sees no second NIC.
	if v.UART1 != "off" && strings.HasPrefix(v.UARTMode1, "file ") {
		args = append(args, "-serial", "file:"+strings.TrimPrefix(v.UARTMode1, "file "))
	}
	args = append(args, "-qmp", "unix:"+escapeOpt(qmp)+",server=on,wait=off")
	if incoming != "" {
		args = append(args, "-incoming", "exec:cat "+shellquote.Quote(incoming))
	}
	return args, nil
}

// startvm VM [--type headless]
func startVM(c *cmd) error {
	if len(c.args) < 1 {
		return syntaxf("Not enough parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageMisc.cpp", 833)
	if err != nil {
		return err
	}
	opts, err := parseOpts(c.args[1:], map[string]int{"--type": 1}, nil)
	if err != nil {
		return err
	}
	for _, o := range opts {
		if o.value != "headless" {
			return failf("Session type '%s' is not simulated (tender starts VMs headless)", o.value)
		}
	}
	if v.State == "running" || v.State == "paused" {
		return failf("The machine '%s' is already locked by a session (or being locked or unlocked)", v.Name).
			details("VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)", "MachineWrap", "IMachine").
			context("LaunchVMProcess(a->session, sessionType.raw(), ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())", "VBoxManageMisc.cpp", 881)
	}
	for k, a := range v.Attachments {
		if err := checkMedium(a.Type, a.Medium); err != nil {
			return failf("Could not open the medium attached at %s: %s", k, a.Medium)
		}
	}
	incoming := ""
	if v.State == "saved" {
		incoming = v.SaveFile
	}
	qemu := os.Getenv(qemuEnv)
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	qmp := c.reg.qmpSocket(v)
	argv, err := qemuArgv(v, qemu, qmp, accel(v, qemu), incoming, flatExtent)
	if err != nil {
		return failf("%v", err)
	}
	data, _ := json.Marshal(argv)
	if err := os.WriteFile(c.reg.argvFile(v), data, 0o600); err != nil {
		return failf("%v", err)
	}
	os.Remove(c.reg.exitFile(v))
	os.Remove(qmp)
	if err := os.MkdirAll(logDir(v), 0o755); err != nil {
		return failf("%v", err)
	}
	logPath := filepath.Join(logDir(v), "VBox.log")
	os.Rename(logPath, logPath+".1")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return failf("%v", err)
	}
	defer logFile.Close()
	self, err := os.Executable()
	if err != nil {
		return failf("%v", err)
	}
	fmt.Fprintf(c.stdout, "Waiting for VM \"%s\" to power on...\n", v.Name)
	proc := exec.Command(self)
	proc.Env = append(os.Environ(), vmProcessEnv+"="+v.UUID)
	proc.Stdout, proc.Stderr = logFile, logFile
	proc.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := proc.Start(); err != nil {
		return failf("%v", err)
	}
	pid := proc.Process.Pid
	go proc.Wait() // reap it if it dies while we wait
	started := func() error {
		deadline := time.Now().Add(30 * time.Second)
		if incoming != "" {
			deadline = time.Now().Add(3 * time.Minute) // the memory image streams in first
		}
		for time.Now().Before(deadline) {
			if !alive(pid) {
				return failf("The virtual machine '%s' has terminated unexpectedly during startup with exit code 1 (0x1).  More details may be available in '%s'", v.Name, logPath).
					details("NS_ERROR_FAILURE (0x80004005)", "MachineWrap", "IMachine")
			}
			st, err := qmpStatus(qmp)
			if err == nil && st == "running" {
				return nil
			}
			// A restored VM stays paused, as it was when saved: run it.
			if err == nil && incoming != "" && (st == "paused" || st == "postmigrate") {
				if _, err := qmpRun(qmp, "cont", nil); err != nil {
					return failf("Failed to resume the restored machine: %v", err)
				}
				continue
			}
			time.Sleep(100 * time.Millisecond)
		}
		syscall.Kill(pid, syscall.SIGTERM)
		return failf("The virtual machine '%s' did not power on in time; see '%s'", v.Name, logPath)
	}
	if err := started(); err != nil {
		v.VMProcess = 0
		return err
	}
	v.VMProcess = pid
	v.PoweroffExpected = false
	v.setState("running")
	if incoming != "" {
		os.Remove(v.SaveFile)
		v.SaveFile = ""
	}
	fmt.Fprintf(c.stdout, "VM \"%s\" has been successfully started.\n", v.Name)
	return nil
}

// vmProcess runs QEMU for the VM and writes how it ended: "poweroff" when
// QEMU exited on its own with status 0 (the guest powered off, or QMP quit),
// else "aborted".
func vmProcess(uuid string) int {
	h, err := home()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	r := &registry{home: h}
	v := &VM{UUID: uuid}
	data, err := os.ReadFile(r.argvFile(v))
	var argv []string
	if err == nil {
		err = json.Unmarshal(data, &argv)
	}
	if err != nil || len(argv) == 0 {
		fmt.Fprintf(os.Stderr, "vboxsim VM process: no argv for %s: %v\n", uuid, err)
		os.WriteFile(r.exitFile(v), []byte("aborted\n"), 0o644)
		return 1
	}
	fmt.Fprintf(os.Stderr, "%s tender VBoxManage simulator: VM process %d runs: %s\n", time.Now().Format(time.RFC3339), os.Getpid(), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "vboxsim VM process: %v\n", err)
		os.WriteFile(r.exitFile(v), []byte("aborted\n"), 0o644)
		return 1
	}
	// Ended by startvm (a start that timed out): QEMU ends with us.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	go func() {
		<-sigs
		cmd.Process.Kill()
	}()
	how := "poweroff"
	if err := cmd.Wait(); err != nil {
		fmt.Fprintf(os.Stderr, "%s tender VBoxManage simulator: QEMU ended: %v\n", time.Now().Format(time.RFC3339), err)
		how = "aborted"
	} else {
		fmt.Fprintf(os.Stderr, "%s tender VBoxManage simulator: QEMU exited\n", time.Now().Format(time.RFC3339))
	}
	os.WriteFile(r.exitFile(v), []byte(how+"\n"), 0o644)
	return 0
}

// notRunning is VBoxManage's answer to controlling a VM that is off.
func notRunning(v *VM) *vboxError {
	return failf("Machine '%s' is not currently running", v.Name)
}

// controlvm VM pause|resume|reset|poweroff|savestate|acpipowerbutton|natpf1 …
func controlVM(c *cmd) error {
	if len(c.args) < 2 {
		return syntaxf("Not enough parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageControlVM.cpp", 211)
	if err != nil {
		return err
	}
	action, rest := c.args[1], c.args[2:]
	known := map[string]int{"pause": 0, "resume": 0, "reset": 0, "poweroff": 0, "savestate": 0, "acpipowerbutton": 0, "natpf1": -1}
	n, ok := known[action]
	if !ok {
		return syntaxf("Invalid parameter '%s'", action)
	}
	if n == 0 && len(rest) > 0 {
		return syntaxf("Too many parameters")
	}
	if v.State != "running" && v.State != "paused" {
		return notRunning(v)
	}
	qmp := c.reg.qmpSocket(v)
	switch action {
	case "pause":
		if v.State == "paused" {
			return failf("VM is already paused")
		}
		if _, err := qmpRun(qmp, "stop", nil); err != nil {
			return failf("%v", err)
		}
		v.setState("paused")
	case "resume":
		if v.State != "paused" {
			return failf("VM is not paused (state: %s)", v.State)
		}
		if _, err := qmpRun(qmp, "cont", nil); err != nil {
			return failf("%v", err)
		}
		v.setState("running")
	case "reset":
		if _, err := qmpRun(qmp, "system_reset", nil); err != nil {
			return failf("%v", err)
		}
	case "acpipowerbutton":
		if _, err := qmpRun(qmp, "system_powerdown", nil); err != nil {
			return failf("%v", err)
		}
	case "poweroff":
		v.PoweroffExpected = true
		_, _ = qmpRun(qmp, "quit", nil)
		if !waitExit(v.VMProcess, 30*time.Second) {
			syscall.Kill(v.VMProcess, syscall.SIGKILL)
			waitExit(v.VMProcess, 5*time.Second)
		}
		os.Remove(c.reg.exitFile(v))
		v.VMProcess = 0
		v.setState("poweroff")
		fmt.Fprintln(c.stdout, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%")
	case "savestate":
		return saveState(c, v)
	case "natpf1":
		return controlNAT(c, v, rest)
	}
	return nil
}

// saveState stops the guest, migrates QEMU's state into
// Snapshots/TIME.sav, and ends QEMU: a saved VM, restored by startvm with
// -incoming.
func saveState(c *cmd, v *VM) error {
	qmp := c.reg.qmpSocket(v)
	if err := os.MkdirAll(filepath.Join(v.Dir, "Snapshots"), 0o755); err != nil {
		return failf("%v", err)
	}
	file := filepath.Join(v.Dir, "Snapshots", time.Now().UTC().Format("2006-01-02T15-04-05-000000000Z")+".sav")
	if _, err := qmpRun(qmp, "stop", nil); err != nil {
		return failf("%v", err)
	}
	if _, err := qmpRun(qmp, "migrate", map[string]any{"uri": "exec:cat > " + shellquote.Quote(file)}); err != nil {
		qmpRun(qmp, "cont", nil)
		return failf("Failed to save the machine state: %v", err)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		raw, err := qmpRun(qmp, "query-migrate", nil)
		if err != nil {
			return failf("Failed to save the machine state: %v", err)
		}
		var st struct {
			Status    string `json:"status"`
			ErrorDesc string `json:"error-desc"`
		}
		json.Unmarshal(raw, &st)
		if st.Status == "completed" {
			break
		}
		if st.Status == "failed" || st.Status == "cancelled" || time.Now().After(deadline) {
			qmpRun(qmp, "cont", nil)
			os.Remove(file)
			return failf("Failed to save the machine state: migration %s %s", st.Status, st.ErrorDesc)
		}
		time.Sleep(100 * time.Millisecond)
	}
	v.PoweroffExpected = true
	_, _ = qmpRun(qmp, "quit", nil)
	if !waitExit(v.VMProcess, 30*time.Second) {
		syscall.Kill(v.VMProcess, syscall.SIGKILL)
		waitExit(v.VMProcess, 5*time.Second)
	}
	os.Remove(c.reg.exitFile(v))
	v.VMProcess = 0
	v.SaveFile = file
	v.setState("saved")
	fmt.Fprintln(c.stdout, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%")
	return nil
}

// controlNAT adds or deletes a rule on the running VM (QEMU's
// hostfwd_add/hostfwd_remove on net0).
func controlNAT(c *cmd, v *VM, rest []string) error {
	qmp := c.reg.qmpSocket(v)
	hmp := func(line string) error {
		raw, err := qmpRun(qmp, "human-monitor-command", map[string]string{"command-line": line})
		if err != nil {
			return err
		}
		var out string
		json.Unmarshal(raw, &out)
		if out = strings.TrimSpace(out); out != "" && !strings.Contains(out, "removed") {
			return errors.New(out)
		}
		return nil
	}
	switch {
	case len(rest) == 2 && rest[0] == "delete":
		var rule string
		for _, r := range v.Forwarding {
			if strings.Split(r, ",")[0] == rest[1] {
				rule = r
			}
		}
		if err := deleteRule(v, rest[1]); err != nil {
			return err
		}
		f := strings.Split(rule, ",")
		if err := hmp(fmt.Sprintf("hostfwd_remove net0 %s:%s:%s", f[1], f[2], f[3])); err != nil {
			return failf("%v", err)
		}
	case len(rest) == 1:
		if err := addRule(v, rest[0]); err != nil {
			return err
		}
		f := strings.Split(v.Forwarding[len(v.Forwarding)-1], ",")
		if err := hmp(fmt.Sprintf("hostfwd_add net0 %s:%s:%s-%s:%s", f[1], f[2], f[3], f[4], f[5])); err != nil {
			v.Forwarding = v.Forwarding[:len(v.Forwarding)-1]
			return failf("%v", err)
		}
	default:
		return syntaxf("Invalid natpf1 parameters: natpf1 <rule> | natpf1 delete <rulename>")
	}
	return nil
}

func waitExit(pid int, limit time.Duration) bool {
	end := time.Now().Add(limit)
	for pid > 0 && alive(pid) {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// discardstate VM
func discardState(c *cmd) error {
	if len(c.args) != 1 {
		return syntaxf("Incorrect number of parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageMisc.cpp", 1020)
	if err != nil {
		return err
	}
	if v.State != "saved" {
		return failf("Cannot discard the saved state as the machine is not in the saved state (machine state: %s)", v.State).
			details("VBOX_E_INVALID_VM_STATE (0x80bb0002)", "SessionMachine", "IMachine")
	}
	os.Remove(v.SaveFile)
	v.SaveFile = ""
	v.setState("poweroff")
	return nil
}

// unregistervm VM [--delete]
func unregisterVM(c *cmd) error {
	if len(c.args) < 1 {
		return syntaxf("Not enough parameters")
	}
	v, err := c.reg.find(c.args[0], "VBoxManageMisc.cpp", 180)
	if err != nil {
		return err
	}
	opts, err := parseOpts(c.args[1:], nil, map[string]bool{"--delete": true})
	if err != nil {
		return err
	}
	if v.State == "running" || v.State == "paused" {
		return failf("Cannot unregister the machine '%s' while it is locked", v.Name).
			details("VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)", "MachineWrap", "IMachine").
			context("Unregister(CleanupMode_DetachAllReturnHardDisksOnly, ComSafeArrayAsOutParam(aMedia))", "VBoxManageMisc.cpp", 193)
	}
	c.reg.remove(v)
	if len(opts) == 0 {
		return nil
	}
	for _, a := range v.Attachments {
		if a.Type != "hdd" {
			continue // VirtualBox deletes hard disks only; the ISO stays
		}
		if ext := flatExtent(a.Medium); ext != "" {
			os.Remove(ext)
		}
		os.Remove(a.Medium)
	}
	if v.SaveFile != "" {
		os.Remove(v.SaveFile)
	}
	os.RemoveAll(logDir(v))
	os.Remove(filepath.Join(v.Dir, "Snapshots"))
	os.Remove(v.settingsFile())
	os.Remove(v.Dir)
	fmt.Fprintln(c.stdout, "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%")
	return nil
}

// flatExtent is the extent file a monolithicFlat descriptor names, or "".
func flatExtent(desc string) string {
	f, err := os.Open(desc)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 4 && fields[0] == "RW" && fields[2] == "FLAT" {
			return filepath.Join(filepath.Dir(desc), strings.Trim(fields[3], `"`))
		}
	}
	return ""
}

// qmpStatus is QEMU's run status ("running", "inmigrate", "paused", …).
func qmpStatus(sock string) (string, error) {
	raw, err := qmpRun(sock, "query-status", nil)
	if err != nil {
		return "", err
	}
	var st struct {
		Status string `json:"status"`
	}
	err = json.Unmarshal(raw, &st)
	return st.Status, err
}

// qmpRun runs one QMP command and returns its "return" value.
func qmpRun(sock, command string, args any) (json.RawMessage, error) {
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(conn)
	if _, err := rd.ReadBytes('\n'); err != nil { // greeting
		return nil, err
	}
	send := func(cmd string, a any) (json.RawMessage, error) {
		req := map[string]any{"execute": cmd}
		if a != nil {
			req["arguments"] = a
		}
		b, _ := json.Marshal(req)
		if _, err := conn.Write(append(b, '\n')); err != nil {
			return nil, err
		}
		for {
			line, err := rd.ReadBytes('\n')
			if err != nil {
				if cmd == "quit" {
					return nil, nil
				}
				return nil, err
			}
			var resp struct {
				Return json.RawMessage `json:"return"`
				Error  *struct {
					Desc string `json:"desc"`
				} `json:"error"`
				Event string `json:"event"`
			}
			if err := json.Unmarshal(line, &resp); err != nil {
				return nil, err
			}
			if resp.Event != "" {
				continue
			}
			if resp.Error != nil {
				return nil, fmt.Errorf("QEMU %s: %s", cmd, resp.Error.Desc)
			}
			return resp.Return, nil
		}
	}
	if _, err := send("qmp_capabilities", nil); err != nil {
		return nil, err
	}
	return send(command, args)
}
