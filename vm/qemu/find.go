package qemu

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Find returns the path of the QEMU program for a guest arch ("amd64" or
// "arm64") on PATH. When it is missing, the error says how to install it on
// this host, or to use VirtualBox instead.
func Find(arch string) (string, error) {
	name, err := Binary(arch)
	if err != nil {
		return "", err
	}
	path, err := exec.LookPath(name)
	if err != nil {
		osRelease, _ := os.ReadFile("/etc/os-release")
		return "", fmt.Errorf("%s is not installed: %s, or use --driver virtualbox", name, InstallHint(runtime.GOOS, arch, string(osRelease)))
	}
	return path, nil
}

// InstallHint says how to install QEMU on goos; on Linux osRelease (the text
// of /etc/os-release) picks the distribution's command.
func InstallHint(goos, arch, osRelease string) string {
	switch goos {
	case "darwin":
		return "install it with `brew install qemu`"
	case "windows":
		return "install it with `winget install SoftwareFreedomConservancy.QEMU`"
	case "linux":
		deb := "sudo apt install qemu-system-x86 qemu-utils"
		if a, _ := guestArch(arch); a == "aarch64" {
			deb = "sudo apt install qemu-system-arm qemu-efi-aarch64 qemu-utils"
		}
		fedora := "sudo dnf install qemu-kvm"
		ids := osReleaseIDs(osRelease)
		switch {
		case ids["debian"] || ids["ubuntu"]:
			return "install it with `" + deb + "`"
		case ids["fedora"] || ids["rhel"] || ids["centos"]:
			return "install it with `" + fedora + "`"
		}
		return "install it with `" + deb + "` (Debian, Ubuntu) or `" + fedora + "` (Fedora)"
	}
	return "install QEMU from https://www.qemu.org/download/"
}

// osReleaseIDs returns the words of ID and ID_LIKE in an os-release file.
func osReleaseIDs(text string) map[string]bool {
	ids := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
		if !ok || (k != "ID" && k != "ID_LIKE") {
			continue
		}
		for _, w := range strings.Fields(strings.Trim(v, `"'`)) {
			ids[w] = true
		}
	}
	return ids
}

// LocalHost describes this host for a guest arch: the QEMU program (see
// Find) and the accelerator (see DetectAccel). No firmware is looked up:
// arm64 guests boot their kernel directly (see KernelBoot).
func LocalHost(arch string) (Host, error) {
	if arch == "" {
		arch = runtime.GOARCH
	}
	path, err := Find(arch)
	if err != nil {
		return Host{}, err
	}
	return Host{
		GOOS:   runtime.GOOS,
		GOARCH: runtime.GOARCH,
		Accel:  DetectAccel(runtime.GOOS),
		QEMU:   path,
		Root:   os.Geteuid() == 0,
	}, nil
}
