package hostagent

import "net"

type heldPort struct {
	port  int
	close func() error
}

func (h heldPort) Close() error { return h.close() }

func netListen() (heldPort, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return heldPort{}, err
	}
	return heldPort{l.Addr().(*net.TCPAddr).Port, l.Close}, nil
}

func netListenUDP() (heldPort, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return heldPort{}, err
	}
	return heldPort{c.LocalAddr().(*net.UDPAddr).Port, c.Close}, nil
}
