package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// netBlobMB is how much each network figure sends.
const netBlobMB = 32

// benchNetwork adds the figures of [swarm]: TCP from one machine to another
// over their network's switch (net_vm_vm_mb_s) and from a machine to the
// host over its NAT NIC (net_vm_host_mb_s), in the same run, and the guest
// memory of a machine on a network. Each sends netBlobMB MB with the
// guest's busybox nc, timed in the guest, to a sink that counts what it
// received: busybox nc -l on n2, a Go listener on the host's 127.0.0.1 (the
// guest reaches the host's loopback as 10.0.2.2). A figure whose sink got
// less is an error. (Not busybox wget --post-file: the one in the image
// sends an empty body.)
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
	timedSend := func(host string, port int) string {
		return fmt.Sprintf(`%s; s=$(date +%%s%%N); busybox nc %s %d < /tmp/blob || exit 1; e=$(date +%%s%%N); echo $((e - s))`, blob, host, port)
	}
	want := int64(netBlobMB << 20)

	// The sink on n2: busybox nc -l for one connection, counting bytes. Its
	// stdin must not end while it receives (busybox nc closes the connection
	// at EOF of stdin: with </dev/null n2 counted 7168 bytes of 32 MiB), and
	// must not be a pipe from a program that outlives nc (the pipeline, and
	// the count, would wait for it): a fifo held open by a bounded sleep.
	const sinkPort = 8099
	sink := fmt.Sprintf(`rm -f /tmp/got /tmp/sinkin; mkfifo /tmp/sinkin; (busybox nc -l -p %d < /tmp/sinkin | wc -c > /tmp/got.part; mv /tmp/got.part /tmp/got) >/dev/null 2>&1 </dev/null & (sleep 120 > /tmp/sinkin 2>/dev/null </dev/null &) ; sleep 1`, sinkPort)
	if _, err := tender("ssh", "n2", "--", sink); err != nil {
		return err
	}
	vmvm, err := guestNanos("n1", timedSend(n2, sinkPort))
	if err != nil {
		return fmt.Errorf("net_vm_vm: %w", err)
	}
	out, err = tender("ssh", "n2", "--", "for i in 1 2 3 4 5 6 7 8 9 10; do [ -f /tmp/got ] && break; sleep 1; done; busybox pkill -f 'sleep 120'; cat /tmp/got")
	if err != nil {
		return fmt.Errorf("net_vm_vm: reading what n2 received: %w", err)
	}
	if got, _ := strconv.ParseInt(strings.TrimSpace(out), 10, 64); got != want {
		return fmt.Errorf("net_vm_vm: n2 received %q bytes, want %d", strings.TrimSpace(out), want)
	}

	// The sink on the host.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer l.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			received <- -1
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		received <- n
	}()
	vmhost, err := guestNanos("n1", timedSend("10.0.2.2", l.Addr().(*net.TCPAddr).Port))
	if err != nil {
		return fmt.Errorf("net_vm_host: %w", err)
	}
	select {
	case got := <-received:
		if got != want {
			return fmt.Errorf("net_vm_host: the host received %d bytes, want %d", got, want)
		}
	case <-time.After(10 * time.Second):
		return errors.New("net_vm_host: the host's sink got no connection")
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
