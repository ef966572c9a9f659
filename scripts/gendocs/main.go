// Command gendocs writes docs/commands.md from tender's own help:
//
//	go run ./scripts/gendocs -o docs/commands.md   (make docs)
//
// A test in package commands fails when the file is stale.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tenderdev/tender/commands"
)

func main() {
	out := flag.String("o", "docs/commands.md", "the file to write")
	flag.Parse()
	// The --vm flag's help shows TENDER_VM's value when it is set.
	os.Unsetenv("TENDER_VM")
	md, err := commands.Markdown()
	if err == nil {
		err = os.WriteFile(*out, []byte(md), 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
