//go:build linux

package portwatch

import (
	"bytes"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/tenderdev/tender/agent/api"
)

// ingressRules is `iptables -t nat -S DOCKER-INGRESS` with a tcp and a udp
// service port published in ingress mode, as dockerd writes them (moby's
// libnetwork/service_linux.go, generateIngressRules). agent/guest's tests
// read the same file.
var ingressRules = mustRead("testdata/ingress-rules.txt")

func mustRead(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestParseIngress(t *testing.T) {
	tcp, udp := func(n int) api.Port { return api.Port{Proto: "tcp", Port: n} }, func(n int) api.Port { return api.Port{Proto: "udp", Port: n} }
	tests := []struct {
		name string
		in   string
		want []api.Port
	}{
		{"dockerd's rules", ingressRules, []api.Port{tcp(8080), udp(5353)}},
		{"an empty chain", "-N DOCKER-INGRESS\n-A DOCKER-INGRESS -j RETURN\n", []api.Port{}},
		{"no output", "", []api.Port{}},
		{"sorted, duplicates once", "-A DOCKER-INGRESS -p tcp -m tcp --dport 9000 -j DNAT --to-destination 172.18.0.2:9000\n" +
			"-A DOCKER-INGRESS -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.18.0.2:80\n" +
			"-A DOCKER-INGRESS -p tcp -m tcp --dport 9000 -j DNAT --to-destination 172.18.0.3:9000\n", []api.Port{tcp(80), tcp(9000)}},
		{"without -m, CRLF and spaces", "  -A DOCKER-INGRESS -p udp --dport 53 -j DNAT --to-destination 172.18.0.2:53 \r\n", []api.Port{udp(53)}},
		{"other chains and tables' rules", "-P PREROUTING ACCEPT\n" +
			"-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER-INGRESS\n" +
			"-A DOCKER -p tcp -m tcp --dport 81 -j DNAT --to-destination 172.17.0.2:80\n" +
			"-A DOCKER-INGRESSX -p tcp -m tcp --dport 82 -j DNAT --to-destination 172.18.0.2:82\n" +
			"-I DOCKER-INGRESS -p tcp -m tcp --dport 83 -j DNAT --to-destination 172.18.0.2:83\n", []api.Port{}},
		{"the filter table's ACCEPT rules", "-A DOCKER-INGRESS -p tcp -m tcp --dport 8080 -j ACCEPT\n" +
			"-A DOCKER-INGRESS -p tcp -m tcp --sport 8080 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", []api.Port{}},
		{"sctp and no protocol", "-A DOCKER-INGRESS -p sctp -m sctp --dport 9 -j DNAT --to-destination 172.18.0.2:9\n" +
			"-A DOCKER-INGRESS --dport 10 -j DNAT --to-destination 172.18.0.2:10\n", []api.Port{}},
		{"negated matches", "-A DOCKER-INGRESS ! -p tcp -m tcp --dport 11 -j DNAT --to-destination 172.18.0.2:11\n" +
			"-A DOCKER-INGRESS -p tcp -m tcp ! --dport 12 -j DNAT --to-destination 172.18.0.2:12\n" +
			"-A DOCKER-INGRESS ! -s 10.0.0.0/8 -p tcp -m tcp --dport 13 -j DNAT --to-destination 172.18.0.2:13\n", []api.Port{tcp(13)}},
		{"comments are one word", `-A DOCKER-INGRESS -p tcp -m tcp --dport 14 -m comment --comment "-p udp --dport 22 -j DNAT \"x\" \\" -j DNAT --to-destination 172.18.0.2:14` + "\n" +
			"-A DOCKER-INGRESS -p tcp -m comment --comment --dport -m tcp --dport 15 -j DNAT --to-destination 172.18.0.2:15\n" +
			`-A DOCKER-INGRESS -p tcp -m comment --comment "--dport 16 -j DNAT" -j ACCEPT` + "\n", []api.Port{tcp(14), tcp(15)}},
		{"a port not forwarded is still listed", "-A DOCKER-INGRESS -p tcp -m tcp --dport 22 -j DNAT --to-destination 172.18.0.2:22\n", []api.Port{tcp(22)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIngress(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseIngress = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseIngressRejects(t *testing.T) {
	rule := func(dport string) string {
		return "-A DOCKER-INGRESS -p tcp -m tcp --dport " + dport + " -j DNAT --to-destination 172.18.0.2:80\n"
	}
	for _, tt := range []struct{ in, err string }{
		{rule("http"), `--dport "http" is not a port from 1 to 65535`},
		{rule("0"), `--dport "0" is not a port from 1 to 65535`},
		{rule("65536"), `--dport "65536" is not a port from 1 to 65535`},
		{rule("-1"), `--dport "-1" is not a port from 1 to 65535`},
		{rule("+80"), `--dport "+80" is not a port from 1 to 65535`},
		{rule("8000:8010"), `--dport "8000:8010" is not a port from 1 to 65535`},
		{rule(`""`), `--dport "" is not a port from 1 to 65535`},
		{"-A DOCKER-INGRESS -p tcp -m tcp --dport\n", "--dport without a value"},
		{"-A DOCKER-INGRESS -p tcp -m tcp --dport 80 --dport 81 -j DNAT --to-destination 172.18.0.2:80\n", "two --dport"},
		{"-A DOCKER-INGRESS -p tcp -m comment --comment \"open -j DNAT\n", "unterminated quote"},
		{"-A DOCKER-INGRESS -p tcp --dport 80 -j DNAT -m comment --comment " + strings.Repeat("x", 2<<20) + "\n", "token too long"},
	} {
		_, err := ParseIngress(strings.NewReader(ingressRules + tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseIngress(%.80q) = %v, want an error with %q", tt.in, err, tt.err)
		}
	}
	// The error names the chain and the rule, for the agent's log.
	_, err := ParseIngress(strings.NewReader(rule("x")))
	want := `DOCKER-INGRESS rule "-A DOCKER-INGRESS -p tcp -m tcp --dport x -j DNAT --to-destination 172.18.0.2:80": --dport "x" is not a port from 1 to 65535`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
}

func TestIngressFile(t *testing.T) {
	ports := []api.Port{{Proto: "udp", Port: 5353}, {Proto: "tcp", Port: 8080}, {Proto: "tcp", Port: 80}, {Proto: "tcp", Port: 8080}}
	text := FormatIngressFile(ports)
	if want := "tcp/80\ntcp/8080\nudp/5353\n"; string(text) != want {
		t.Fatalf("FormatIngressFile = %q, want %q", text, want)
	}
	got, err := ParseIngressFile(bytes.NewReader(text))
	if want := []api.Port{{Proto: "tcp", Port: 80}, {Proto: "tcp", Port: 8080}, {Proto: "udp", Port: 5353}}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseIngressFile = %v, %v, want %v", got, err, want)
	}
	if text := FormatIngressFile(nil); len(text) != 0 {
		t.Errorf("FormatIngressFile(nil) = %q, want nothing", text)
	}
	if got, err := ParseIngressFile(strings.NewReader("\n tcp/22 \r\n\n")); err != nil || !reflect.DeepEqual(got, []api.Port{{Proto: "tcp", Port: 22}}) {
		t.Errorf("blank lines and spaces: %v, %v", got, err)
	}
	for _, bad := range []string{"tcp", "tcp/", "/80", "sctp/80", "TCP/80", "tcp/0", "tcp/65536", "tcp/+80", "tcp/80/1", "tcp 80", "tcp/8O"} {
		_, err := ParseIngressFile(strings.NewReader("udp/53\n" + bad + "\n"))
		if want := `ingress ports: line 2: "` + bad + `" is not tcp/PORT or udp/PORT`; err == nil || err.Error() != want {
			t.Errorf("ParseIngressFile(%q) = %v, want %s", bad, err, want)
		}
	}
}

// FuzzParseIngress feeds the rule parser arbitrary iptables output: it
// never panics, what it accepts are tcp or udp ports from 1 to 65535,
// sorted and unique, and the ingress file written from them reads back the
// same.
func FuzzParseIngress(f *testing.F) {
	for _, seed := range []string{
		ingressRules,
		"",
		"-A DOCKER-INGRESS -p tcp -m tcp --dport 65535 -j DNAT --to-destination 172.18.0.2:1\n",
		"-A DOCKER-INGRESS -p tcp -m comment --comment \"a \\\"b\\\" --dport 1\" --dport 2 -j DNAT\n",
		"-A DOCKER-INGRESS ! -p udp --dport 3 -j DNAT\n",
		"-A DOCKER-INGRESS -p tcp --dport 8000:8010 -j DNAT\n",
		"-A DOCKER-INGRESS -p tcp --dport\n",
		"-A DOCKER-INGRESS \"\n",
		"\x00\xff-A DOCKER-INGRESS",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ports, err := ParseIngress(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range ports {
			if (p.Proto != "tcp" && p.Proto != "udp") || p.Port < 1 || p.Port > 65535 {
				t.Fatalf("ParseIngress(%q) gave %v", data, p)
			}
		}
		for i := 1; i < len(ports); i++ {
			if api.ComparePorts(ports[i-1], ports[i]) >= 0 {
				t.Fatalf("ParseIngress(%q) = %v: not sorted and unique", data, ports)
			}
		}
		back, err := ParseIngressFile(bytes.NewReader(FormatIngressFile(ports)))
		if err != nil || !slices.Equal(back, ports) {
			t.Fatalf("ingress file of %v reads back %v, %v", ports, back, err)
		}
	})
}
