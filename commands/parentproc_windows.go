//go:build windows

package commands

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// parentProcessName is the executable name of the process that started
// tender (powershell.exe, pwsh.exe, cmd.exe, bash.exe…), for shellinit to
// print that shell's syntax, as docker-machine did; "" when it cannot be
// read.
func parentProcessName() string {
	ppid := uint32(os.Getppid())
	snapshot, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(snapshot)
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	for err = windows.Process32First(snapshot, &e); err == nil; err = windows.Process32Next(snapshot, &e) {
		if e.ProcessID == ppid {
			return windows.UTF16ToString(e.ExeFile[:])
		}
	}
	return ""
}
