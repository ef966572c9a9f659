package testfakes

import (
	"bufio"
	"io"
	"net"
)

// ServeLines answers every connection l accepts with prefix and the first
// line it reads, then closes it, until l is closed: a service on the far
// side of a relay, a tunnel or a forwarded port.
func ServeLines(l net.Listener, prefix string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			line, _ := bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, prefix+line)
		}()
	}
}

// AskLine sends line and a newline on c and returns the line that comes
// back, as ServeLines answers it.
func AskLine(c net.Conn, line string) (string, error) {
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}
