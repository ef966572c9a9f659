// Command udpecho answers every UDP datagram on :PORT with "echo: " and the
// datagram; the ports suite puts it in an image, since busybox's nc has no UDP.
package main

import (
	"log"
	"net"
	"os"
)

func main() {
	port := "5353"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	c, err := net.ListenPacket("udp", ":"+port)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on udp %s", c.LocalAddr())
	buf := make([]byte, 64<<10)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		_, _ = c.WriteTo(append([]byte("echo: "), buf[:n]...), from)
	}
}
