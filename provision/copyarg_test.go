package provision

import (
	"strings"
	"testing"
)

func TestParseCopyArg(t *testing.T) {
	tests := []struct {
		arg     string
		windows bool
		want    CopyArg
	}{
		{arg: "default:/tmp/x", want: CopyArg{Machine: "default", Path: "/tmp/x"}},
		{arg: "dev:notes.txt", want: CopyArg{Machine: "dev", Path: "notes.txt"}},
		{arg: "dev:", want: CopyArg{Machine: "dev", Path: ""}},
		{arg: "dev:~/a b:c", want: CopyArg{Machine: "dev", Path: "~/a b:c"}},
		{arg: "my-vm.2_x:/", want: CopyArg{Machine: "my-vm.2_x", Path: "/"}},
		{arg: "file.txt", want: CopyArg{Path: "file.txt"}},
		{arg: "/abs/path", want: CopyArg{Path: "/abs/path"}},
		{arg: "./a:b", want: CopyArg{Path: "./a:b"}},
		{arg: "dir/a:b", want: CopyArg{Path: "dir/a:b"}},
		{arg: "/x:y", want: CopyArg{Path: "/x:y"}},
		{arg: ":leading", want: CopyArg{Path: ":leading"}},
		{arg: "-dash:x", want: CopyArg{Path: "-dash:x"}},
		{arg: "two words:x", want: CopyArg{Path: "two words:x"}},
		{arg: `dir\a:b`, windows: true, want: CopyArg{Path: `dir\a:b`}},
		{arg: `C:\Users\me\file.txt`, windows: true, want: CopyArg{Path: `C:\Users\me\file.txt`}},
		{arg: `c:/Users/me`, windows: true, want: CopyArg{Path: `c:/Users/me`}},
		{arg: `D:relative`, windows: true, want: CopyArg{Path: `D:relative`}},
		{arg: `\\server\share\x:y`, windows: true, want: CopyArg{Path: `\\server\share\x:y`}},
		{arg: `dev:/tmp/x`, windows: true, want: CopyArg{Machine: "dev", Path: "/tmp/x"}},
		// Off Windows, a one-letter machine name is a machine name.
		{arg: `c:/tmp/x`, want: CopyArg{Machine: "c", Path: "/tmp/x"}},
	}
	for _, tt := range tests {
		if got := parseCopyArg(tt.arg, tt.windows); got != tt.want {
			t.Errorf("parseCopyArg(%q, windows=%v) = %+v, want %+v", tt.arg, tt.windows, got, tt.want)
		}
	}
}

func TestCopyMachine(t *testing.T) {
	tests := []struct {
		src, dst, want, wantErr string
	}{
		{src: "default:/etc/hostname", dst: "out", want: "default"},
		{src: "in.txt", dst: "dev:", want: "dev"},
		{src: "a:x", dst: "b:y", wantErr: "one side of a copy must be a local path"},
		{src: "in.txt", dst: "out.txt", wantErr: "name the guest side NAME:path"},
		{src: "./x", dst: "bad name:/tmp", wantErr: `invalid machine name "bad name" in "bad name:/tmp"`},
		{src: "./x", dst: "./y:z", wantErr: "name the guest side NAME:path"},
		{src: "dev:/x", dst: "my dir:y", want: "dev"}, // the local side may have a colon
	}
	for _, tt := range tests {
		got, err := CopyMachine(tt.src, tt.dst)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CopyMachine(%q, %q) error = %v, want one containing %q", tt.src, tt.dst, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CopyMachine(%q, %q) = %q, %v; want %q", tt.src, tt.dst, got, err, tt.want)
		}
	}
}

func TestResolveGuestPath(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "", want: "/home/docker"},
		{in: "~", want: "/home/docker"},
		{in: "~/", want: "/home/docker"},
		{in: "~/x/y", want: "/home/docker/x/y"},
		{in: "x", want: "/home/docker/x"},
		{in: "./x/../y", want: "/home/docker/y"},
		{in: "/etc/hostname", want: "/etc/hostname"},
		{in: "/tmp/", want: "/tmp"},
		{in: "~root/x", wantErr: "only ~ and ~/ are supported"},
	}
	for _, tt := range tests {
		got, err := resolveGuestPath(tt.in, GuestHome)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("resolveGuestPath(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("resolveGuestPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
