//go:build linux

package portwatch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/tenderdev/tender/agent/api"
)

// IngressChain is the nat chain in which dockerd, in swarm mode, DNATs a
// service's ports published in ingress mode to the routing mesh. Nothing
// listens on those ports in the guest, so the socket tables never show
// them.
const IngressChain = "DOCKER-INGRESS"

// ParseIngress reads `iptables -t nat -S DOCKER-INGRESS`: every rule
// appended to the chain that DNATs a tcp or udp destination port, as
// dockerd writes them,
//
//	-A DOCKER-INGRESS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.18.0.2:8080
//
// gives its port, sorted and without duplicates. Other lines (the chain's
// -N, its RETURN, other chains, negated matches) are ignored. A --dport that
// is not one port from 1 to 65535, or a rule that cannot be split into its
// words, is an error: not what dockerd writes, so not to be guessed at.
func ParseIngress(r io.Reader) ([]api.Port, error) {
	var ports []api.Port
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "-A "+IngressChain+" ") {
			continue
		}
		p, ok, err := parseIngressRule(line)
		if err != nil {
			return nil, fmt.Errorf("%s rule %q: %w", IngressChain, line, err)
		}
		if ok {
			ports = append(ports, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s rules: %w", IngressChain, err)
	}
	return api.NewPortSet(ports).Sorted(), nil
}

// parseIngressRule reads one "-A DOCKER-INGRESS …" line; ok is false for a
// rule that publishes no port.
func parseIngressRule(line string) (p api.Port, ok bool, err error) {
	words, err := splitRule(line)
	if err != nil {
		return api.Port{}, false, err
	}
	var proto, dport, target string
	hasDport := false
	negated := false // the rule says "! -p tcp" or "! --dport 80": no one port
	for i := 2; i < len(words); i++ {
		w := words[i]
		if w == "!" {
			if i+1 < len(words) && (words[i+1] == "-p" || words[i+1] == "--dport") {
				negated = true
			}
			continue
		}
		if w == "--comment" {
			i++ // free text: a comment may read "--dport", unquoted
			continue
		}
		if w != "-p" && w != "--dport" && w != "-j" {
			continue
		}
		if i+1 == len(words) {
			return api.Port{}, false, fmt.Errorf("%s without a value", w)
		}
		i++
		switch w {
		case "-p":
			proto = words[i]
		case "--dport":
			if hasDport {
				return api.Port{}, false, errors.New("two --dport")
			}
			dport, hasDport = words[i], true
		case "-j":
			target = words[i]
		}
	}
	if hasDport {
		n, err := strconv.ParseUint(dport, 10, 16)
		if err != nil || n == 0 {
			return api.Port{}, false, fmt.Errorf("--dport %q is not a port from 1 to 65535", dport)
		}
		p.Port = int(n)
	}
	if negated || !hasDport || target != "DNAT" || (proto != "tcp" && proto != "udp") {
		return api.Port{}, false, nil
	}
	p.Proto = proto
	return p, true, nil
}

// splitRule splits a line of `iptables -S` into words. iptables quotes a
// word with spaces or other specials (a comment) in double quotes, with \"
// and \\ inside; a comment reading "--dport 22" must stay one word.
func splitRule(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quoted && c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
		case c == '"':
			quoted = !quoted
			inWord = true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quoted {
		return nil, errors.New("unterminated quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// FormatIngressFile is the text of api.IngressPortsFile: one port a line,
// "tcp/8080", sorted, without duplicates.
func FormatIngressFile(ports []api.Port) []byte {
	var b bytes.Buffer
	for _, p := range api.NewPortSet(ports).Sorted() {
		b.WriteString(p.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// ParseIngressFile reads what FormatIngressFile writes. Blank lines are
// skipped; any other line that is not "tcp/N" or "udp/N" with N from 1 to
// 65535 is an error (the file is the agent's, written whole by a rename:
// a surprise means the wrong file).
func ParseIngressFile(r io.Reader) ([]api.Port, error) {
	var ports []api.Port
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		proto, num, _ := strings.Cut(line, "/")
		port, err := strconv.ParseUint(num, 10, 16)
		if (proto != "tcp" && proto != "udp") || err != nil || port == 0 {
			return nil, fmt.Errorf("ingress ports: line %d: %q is not tcp/PORT or udp/PORT", n, line)
		}
		ports = append(ports, api.Port{Proto: proto, Port: int(port)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("ingress ports: %w", err)
	}
	return ports, nil
}
