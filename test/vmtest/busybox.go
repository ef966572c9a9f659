package vmtest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// BusyboxPath is the static busybox the test image is made of (Debian's
// busybox-static).
const BusyboxPath = "/bin/busybox"

// ImportBusybox makes busybox:latest in the VM (there is no registry) from
// the host's static busybox: the binary, its applet links and an
// /etc/passwd, imported with CMD ["sh"].
func (vm *VM) ImportBusybox() error {
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return fmt.Errorf("reading %s (apt install busybox-static): %w", BusyboxPath, err)
	}
	list, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return fmt.Errorf("%s --list: %w", BusyboxPath, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, data []byte) {
		h.ModTime = time.Unix(0, 0)
		h.Size = int64(len(data))
		if err == nil {
			err = tw.WriteHeader(h)
		}
		if err == nil {
			_, err = tw.Write(data)
		}
	}
	for _, d := range []string{"bin/", "etc/", "tmp/", "root/", "var/", "var/www/"} {
		add(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755}, bb)
	sc := bufio.NewScanner(bytes.NewReader(list))
	for sc.Scan() {
		if a := strings.TrimSpace(sc.Text()); a != "" && a != "busybox" {
			add(&tar.Header{Name: "bin/" + a, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644}, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	if err == nil {
		err = tw.Close()
	}
	if err != nil {
		return fmt.Errorf("making the busybox image: %w", err)
	}
	_, err = vm.DockerStdin(bytes.NewReader(buf.Bytes()), "import", "-c", `CMD ["sh"]`, "-", "busybox:latest")
	return err
}
