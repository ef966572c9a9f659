package api

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCalls(t *testing.T) {
	for _, tc := range []struct {
		call Call
		want []string
	}{
		{WatchPorts(), []string{"/usr/sbin/tender-agent", "watch-ports"}},
		{Clock(), []string{"/usr/sbin/tender-agent", "clock"}},
		{SetClock(time.Unix(1764300000, 123456789)), []string{"sudo", "-n", "/usr/sbin/tender-agent", "set-clock", "1764300000123456789"}},
		{SetDNS([]string{"1.1.1.1", "9.9.9.9"}), []string{"sudo", "-n", "/usr/sbin/tender-agent", "set-dns", "1.1.1.1", "9.9.9.9"}},
		{Version(), []string{"/usr/sbin/tender-agent", "version"}},
		{RestartDocker(), []string{"sudo", "-n", "/usr/sbin/tender-agent", "restart-docker"}},
		{Poweroff(), []string{"sudo", "-n", "/usr/sbin/tender-agent", "poweroff"}},
	} {
		if got := tc.call.Argv(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("argv = %q, want %q", got, tc.want)
		}
	}
}

// Every call a builder makes passes the table's own argument check, so the
// agent accepts what the host sends.
func TestCallsFitTheTable(t *testing.T) {
	calls := []Call{WatchPorts(), Clock(), SetClock(time.Now()), SetDNS([]string{"1.1.1.1"}), Version(), RestartDocker(), Poweroff(), Suspend(false), Suspend(true), Resume()}
	seen := map[string]bool{}
	for _, c := range calls {
		argv := c.Argv()
		i := 0
		for argv[i] != AgentPath {
			i++
		}
		cmd, ok := LookupCommand(argv[i+1])
		if !ok {
			t.Fatalf("%q: no such command in the table", argv)
		}
		if err := cmd.CheckArgs(argv[i+2:]); err != nil {
			t.Errorf("%q: %v", argv, err)
		}
		if got := argv[0] == "sudo"; got != cmd.Root {
			t.Errorf("%q: sudo %v, table says root %v", argv, got, cmd.Root)
		}
		seen[cmd.Name] = true
	}
	for _, c := range Commands {
		if !seen[c.Name] {
			t.Errorf("command %q has no builder", c.Name)
		}
	}
}

func TestCheckArgs(t *testing.T) {
	setClock, _ := LookupCommand(CmdSetClock)
	if err := setClock.CheckArgs(nil); err == nil || err.Error() != "usage: tender-agent set-clock UNIX_NANOSECONDS" {
		t.Errorf("set-clock with no argument: %v", err)
	}
	if err := setClock.CheckArgs([]string{"1", "2"}); err == nil {
		t.Error("set-clock took two arguments")
	}
	dns, _ := LookupCommand(CmdSetDNS)
	if err := dns.CheckArgs([]string{"a", "b", "c"}); err != nil {
		t.Errorf("set-dns with three servers: %v", err)
	}
	if err := dns.CheckArgs(nil); err == nil {
		t.Error("set-dns took no server")
	}
	version, _ := LookupCommand(CmdVersion)
	if err := version.CheckArgs([]string{"x"}); err == nil {
		t.Error("version took an argument")
	}
	if _, ok := LookupCommand("format-disk"); ok {
		t.Error("found a command that does not exist")
	}
	if u := UsageText(); !strings.Contains(u, "sudo tender-agent set-dns IP…") || !strings.Contains(u, "tender-agent watch-ports") {
		t.Errorf("usage text:\n%s", u)
	}
}

func TestClockFormat(t *testing.T) {
	now := time.Unix(1764300000, 123456789)
	if s := FormatClock(now); s != "1764300000123456789" {
		t.Fatalf("FormatClock = %q", s)
	}
	got, err := ParseClock("1764300000123456789\n")
	if err != nil || !got.Equal(now) {
		t.Fatalf("ParseClock = %v, %v", got, err)
	}
	if _, err := ParseClock("Sat Nov 28"); err == nil {
		t.Fatal("ParseClock accepted a date(1) string")
	}
}
