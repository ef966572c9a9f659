//go:build vmdebug

package vmtest

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/tenderdev/tender/agent/api"
)

// TestDebug is a tool, not a check: it boots the ISO, starts a published
// busybox httpd, runs the shell script $TENDER_DEBUG_SCRIPT as docker over
// SSH, presses the power button and prints agent.log and dockerd.log from
// the disk (debugfs). Run: TENDER_DEBUG_SCRIPT=x.sh go test -tags vmdebug
// -run TestDebug -v ./test/vmtest
func TestDebug(t *testing.T) {
	id := NewIdentity(t)
	disk := id.NewDisk(t, 2<<30)
	vm := Boot(t, Options{Disk: disk, Identity: id, Forward: []int{8080}})
	t.Logf("ready after %s", time.Since(vm.Started))
	if err := vm.ImportBusybox(); err != nil {
		t.Fatal(err)
	}
	if out, err := vm.Docker("run", "-d", "-p", "8080:80", "busybox", "httpd", "-f", "-p", "80"); err != nil {
		t.Fatal(err, out)
	}
	time.Sleep(10 * time.Second) // memory is measured 10 s after ready
	script, _ := os.ReadFile(os.Getenv("TENDER_DEBUG_SCRIPT"))
	out, err := vm.Run(string(script))
	t.Logf("script: %v\n%s", err, out)
	p := time.Now()
	if err := vm.PowerButton(); err != nil {
		t.Fatal(err)
	}
	err = vm.WaitExit(40 * time.Second)
	t.Logf("exit after %s: %v", time.Since(p), err)
	vm.Kill()
	out2, _ := exec.Command("debugfs", "-R", "cat "+api.AgentLog, disk).CombinedOutput()
	t.Logf("agent.log:\n%s", out2)
	out3, _ := exec.Command("debugfs", "-R", "cat "+api.LogDir+"/dockerd.log", disk).CombinedOutput()
	t.Logf("dockerd.log:\n%s", out3)
}
