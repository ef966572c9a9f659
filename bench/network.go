package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// netBlobMB is how much each network figure sends.
const netBlobMB = 32

// benchNetwork adds the figures of [swarm]: TCP from one machine to another
// over their network's switch (net_vm_vm_mb_s) and from a machine to the
// host over its NAT NIC (net_vm_host_mb_s), in the same run, and the guest
// memory of a machine on a network. Each is an HTTP POST of netBlobMB MB
// with the guest's busybox wget, timed in the guest; the receiving end of
// vm_vm is busybox httpd with a CGI that discards the body, that of
// vm_host a Go handler on 127.0.0.1 (the guest reaches the host's loopback
// as 10.0.2.2).
func benchNetwork(res Results, iso string) error {
	// Two machines on one network; the single-machine ones are off, so
	// the two cores are theirs.
	if _, err := tender("poweroff"); err != nil {
		return err
	}
	for _, n := range []string{"n1", "n2"} {
		if _, err := tender("init", "--iso", iso, "--memory", "1GiB", "--disksize", "4GiB", "--network", "bench", n); err != nil {
			return err
		}
		defer tender("delete", "-f", n) //nolint:errcheck // best effort on the way out
		if _, err := tender("up", n); err != nil {
			return err
		}
	}
	out, err := tender("info", "--format", "{{(index .Networks 0).Address}}", "n2")
	if err != nil {
		return err
	}
	n2 := strings.TrimSpace(out)
	blob := fmt.Sprintf("dd if=/dev/zero of=/tmp/blob bs=1M count=%d 2>/dev/null", netBlobMB)
	timedPost := func(url string) string {
		return blob + `; s=$(date +%s%N); busybox wget -q -O /dev/null --post-file /tmp/blob ` + url + `; e=$(date +%s%N); echo $((e - s))`
	}

	// The sink on n2: busybox httpd on 8099 running a CGI that reads the
	// body and throws it away.
	sink := `mkdir -p /tmp/www/cgi-bin && printf '#!/bin/sh\ncat >/dev/null\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' > /tmp/www/cgi-bin/sink && chmod +x /tmp/www/cgi-bin/sink && busybox httpd -p 8099 -h /tmp/www`
	if _, err := tender("ssh", "n2", "--", sink); err != nil {
		return err
	}
	vmvm, err := guestNanos("n1", timedPost("http://"+n2+":8099/cgi-bin/sink"))
	if err != nil {
		return fmt.Errorf("net_vm_vm: %w", err)
	}

	// The sink on the host.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	var got int64
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = io.Copy(io.Discard, r.Body)
		fmt.Fprintln(w, "ok")
	})}
	go srv.Serve(l) //nolint:errcheck // ends with l
	port := l.Addr().(*net.TCPAddr).Port
	vmhost, err := guestNanos("n1", timedPost("http://10.0.2.2:"+strconv.Itoa(port)+"/"))
	if err != nil {
		return fmt.Errorf("net_vm_host: %w", err)
	}
	if got != netBlobMB<<20 {
		return fmt.Errorf("net_vm_host: the host received %d bytes, want %d", got, netBlobMB<<20)
	}
	mb := float64(netBlobMB<<20) / 1e6
	res["net_vm_vm_mb_s"] = round(mb/vmvm.Seconds(), 1)
	res["net_vm_host_mb_s"] = round(mb/vmhost.Seconds(), 1)
	res["net_vm_vm_ratio"] = round(vmhost.Seconds()/vmvm.Seconds(), 2)

	mem, err := guestMemUsedOf("n2")
	if err != nil {
		return err
	}
	res["network_guest_mem_used_bytes"] = mem
	return nil
}

// guestNanos runs script in machine's guest; its last line of output is a
// duration in nanoseconds.
func guestNanos(machine, script string) (time.Duration, error) {
	out, err := tender("ssh", machine, "--", script)
	if err != nil {
		return 0, err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	ns, err := strconv.ParseInt(lines[len(lines)-1], 10, 64)
	if err != nil || ns <= 0 {
		return 0, errors.New("the guest printed " + strconv.Quote(out) + ", not a duration")
	}
	return time.Duration(ns), nil
}
