// Package network is tender's networks between machines: the store of
// networks under TENDER_HOME/networks (their subnets and the machines'
// static leases), and the supervision of each network's switch process,
// tender-net (cmd/tender-net, package netswitch), which this package starts
// and stops but never links: the switch's packages cost shellinit's whole
// start-up budget.
package network
