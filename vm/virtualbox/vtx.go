package virtualbox

import (
	"os"
	"path/filepath"
	"strings"
)

// vtxProblems maps the status codes VirtualBox writes to Logs/VBox.log when
// hardware virtualization is unusable to what the user can do about it.
var vtxProblems = []struct{ code, advice string }{
	{"VERR_VMX_MSR_ALL_VMX_DISABLED", "VT-x is disabled in the firmware: enable \"Intel Virtualization Technology\" in the BIOS/UEFI setup"},
	{"VERR_VMX_MSR_VMX_DISABLED", "VT-x is disabled in the firmware: enable \"Intel Virtualization Technology\" in the BIOS/UEFI setup"},
	{"VERR_SVM_DISABLED", "AMD-V is disabled in the firmware: enable \"SVM Mode\" in the BIOS/UEFI setup"},
	{"VERR_VMX_NO_VMX", "this CPU (or the VM tender runs in) offers no VT-x: enable nested virtualization, or use --driver qemu"},
	{"VERR_SVM_NO_SVM", "this CPU (or the VM tender runs in) offers no AMD-V: enable nested virtualization, or use --driver qemu"},
	{"VERR_VMX_IN_VMX_ROOT_MODE", "another hypervisor (KVM, Hyper-V, Docker Desktop, WSL 2) holds VT-x: stop it (on Linux `sudo modprobe -r kvm_intel`), or use --driver qemu"},
	{"VERR_SVM_IN_USE", "another hypervisor (KVM, Hyper-V) holds AMD-V: stop it (on Linux `sudo modprobe -r kvm_amd`), or use --driver qemu"},
	{"VERR_NEM_NOT_AVAILABLE", "Hyper-V is on and VirtualBox cannot use it here: turn off Hyper-V (`bcdedit /set hypervisorlaunchtype off`, then reboot), or use --driver qemu"},
	{"VERR_NEM_MISSING_KERNEL_API", "Hyper-V is on and VirtualBox cannot use it here: turn off Hyper-V (`bcdedit /set hypervisorlaunchtype off`, then reboot), or use --driver qemu"},
	{"VERR_VMX_NO_VMX_ROOT", "VT-x is unavailable: enable it in the BIOS/UEFI setup, or use --driver qemu"},
}

// VTxProblem returns plain advice for a hardware-virtualization failure
// recorded in a VBox.log text, or "".
func VTxProblem(log string) string {
	for _, p := range vtxProblems {
		if strings.Contains(log, p.code) {
			return p.advice
		}
	}
	return ""
}

// logPath is the VM's current VBox.log.
func logPath(dir, vmName string) string {
	return filepath.Join(vmFolder(dir, vmName), "Logs", "VBox.log")
}

// vtxProblemIn reads the VM's VBox.log; "" when it is missing or clean.
func vtxProblemIn(dir, vmName string) string {
	data, err := os.ReadFile(logPath(dir, vmName))
	if err != nil {
		return ""
	}
	return VTxProblem(string(data))
}
