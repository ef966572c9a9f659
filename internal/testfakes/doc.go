// Package testfakes provides the stand-ins tests use for what tender works
// with: the smallest file tender accepts as its ISO image, a vm.Driver whose
// machines never run, and free loopback ports.
//
// It is for tests only. Only _test.go files and the end-to-end harness under
// test/ import it (TestLayout in layout_test.go checks), so none of it is
// built into tender or its guest agent. It imports nothing of tender's but
// vm, so that the internal tests of any package, machine's included, can use
// it without an import cycle.
package testfakes
