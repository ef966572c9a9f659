package virtualbox

import (
	"reflect"
	"testing"

	"github.com/tenderdev/tender/vm"
)

func TestHostOnlyArgv(t *testing.T) {
	n, err := ParseHostOnly(DefaultHostOnly, "linux", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ got, want []string }{
		{hostOnlyIfIPConfigArgs("vboxnet2", n), []string{"hostonlyif", "ipconfig", "vboxnet2", "--ip", "192.168.59.1", "--netmask", "255.255.255.0"}},
		{dhcpServerAddArgs("vboxnet2", n), []string{"dhcpserver", "add", "--interface=vboxnet2", "--server-ip=192.168.59.2", "--netmask=255.255.255.0", "--lower-ip=192.168.59.128", "--upper-ip=192.168.59.254", "--enable"}},
		{hostOnlyNICArgs("tender-default", "vboxnet2"), []string{"modifyvm", "tender-default", "--nic2", "hostonly", "--nictype2", "virtio", "--hostonlyadapter2", "vboxnet2"}},
		{convertFromRawArgs("/m/disk.vmdk", 20<<30), []string{"convertfromraw", "stdin", "/m/disk.vmdk", "21474836480", "--format", "VMDK"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("got  %q\nwant %q", tc.got, tc.want)
		}
	}
}

func TestRuleChanges(t *testing.T) {
	ssh := Rule{"ssh", "tcp", "127.0.0.1", 2222, "", 22}
	docker := Rule{"docker", "tcp", "127.0.0.1", 2376, "", 2376}
	user := Rule{"web", "tcp", "", 8080, "", 80}
	moved := ssh
	moved.HostPort = 2223
	for _, tc := range []struct {
		name       string
		have, want []Rule
		ops        [][]string
	}{
		{"nothing to do", []Rule{docker, user, ssh}, []Rule{ssh, docker}, nil},
		{"add both", nil, []Rule{ssh, docker}, [][]string{{ssh.String()}, {docker.String()}}},
		{"move one, keep the user's", []Rule{ssh, docker, user}, []Rule{moved, docker}, [][]string{{"delete", "ssh"}, {"ssh,tcp,127.0.0.1,2223,,22"}}},
		{"ports not chosen", []Rule{ssh}, nil, nil},
	} {
		if got := ruleChanges(tc.have, tc.want); !reflect.DeepEqual(got, tc.ops) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.ops)
		}
	}
	if got := modifyNATArgs("tender-x", nil); got != nil {
		t.Errorf("no change gives %q", got)
	}
}

func TestShareName(t *testing.T) {
	for in, want := range map[string]string{"/Users": "Users", "/home/": "home", `C:\Users`: "Users"} {
		if got := ShareName(vmShare(in)); got != want {
			t.Errorf("ShareName(%q) = %q, want %q", in, got, want)
		}
	}
}

func vmShare(path string) vm.Share { return vm.Share{HostPath: path} }
