// Command dispenserd runs the pill dispenser on its single-board computer:
// hardware, dose schedule, local log and SMS outbox. So far it only checks
// configuration files (--check-config FILE).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pillbox/pillbox/cmd/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dispenserd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	checkConfig := fs.String("check-config", "", "check the config `FILE`, print its problems with line numbers and exit (status 0 when it is clean)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, notYet)
		return 2
	}
	switch {
	case *showVersion:
		fmt.Fprintln(stdout, "dispenserd", version)
		return 0
	case *checkConfig != "":
		return config.Check(*checkConfig, stdout, stderr)
	default:
		fmt.Fprintln(stderr, notYet)
		return 2
	}
}

const notYet = "dispenserd: running the dispenser is not implemented yet; only --check-config FILE and --version work"
