// Command gendocs writes docs/commands.md and the man page docs/tender.1
// from tender's own help:
//
//	go run ./scripts/gendocs -o docs/commands.md -man docs/tender.1   (make docs)
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
	out := flag.String("o", "docs/commands.md", "the Markdown page to write")
	man := flag.String("man", "docs/tender.1", "the man page to write")
	flag.Parse()
	// The --vm flag's help shows TENDER_VM's value when it is set.
	os.Unsetenv("TENDER_VM")
	md, err := commands.Markdown()
	if err == nil {
		err = os.WriteFile(*out, []byte(md), 0o644)
	}
	if err == nil {
		var page string
		if page, err = commands.Manpage(); err == nil {
			err = os.WriteFile(*man, []byte(page), 0o644)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendocs: %v\n", err)
		os.Exit(1)
	}
}
