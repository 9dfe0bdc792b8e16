package main

import (
	"io"

	"github.com/pillbox/pillbox/cmd/internal/config"
)

func init() {
	register(command{name: "check", help: "check a config file (same as dispenserd --check-config FILE)", run: runCheck})
}

func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "FILE", stderr)
	if status, ok := parseFlags(fs, args, 1); !ok {
		return status
	}
	return config.Check(fs.Arg(0), stdout, stderr)
}
