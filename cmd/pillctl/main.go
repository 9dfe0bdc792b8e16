// Command pillctl is the operator's command line: it checks and draws
// configuration files, and (in other files of this package) reads
// adherence databases, exports reports and manages tokens.
//
// Each subcommand lives in its own file and registers itself from that
// file's init function:
//
//	func init() {
//		register(command{name: "pinmap", help: "draw the header wiring of a config as SVG", run: runPinmap})
//	}
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one pillctl subcommand.
type command struct {
	name string
	// help is one line, shown by `pillctl help`; usage details belong in
	// the subcommand's own -h output.
	help string
	// run gets the arguments after the subcommand's name and returns the
	// exit status: 0 on success, 1 when the work failed, 2 on bad usage.
	run func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

// register adds a subcommand; it is called from init functions, so a
// duplicate name is a programming error and panics at start-up.
func register(c command) {
	if _, dup := commands[c.name]; dup || c.name == "" || c.run == nil {
		panic(fmt.Sprintf("pillctl: bad or duplicate command %q", c.name))
	}
	commands[c.name] = c
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	switch name := args[0]; name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			if c, ok := commands[args[1]]; ok {
				fmt.Fprintf(stdout, "pillctl %s: %s\n(run pillctl %s -h for its options)\n", c.name, c.help, c.name)
				return 0
			}
			fmt.Fprintf(stderr, "pillctl: unknown command %q\n", args[1])
			return 2
		}
		usage(stdout)
		return 0
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "pillctl", version)
		return 0
	default:
		c, ok := commands[name]
		if !ok {
			fmt.Fprintf(stderr, "pillctl: unknown command %q\n", name)
			usage(stderr)
			return 2
		}
		return c.run(args[1:], stdout, stderr)
	}
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	width := len("version")
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	slices.Sort(names)
	var b strings.Builder
	b.WriteString("usage: pillctl COMMAND [ARGS]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, n, commands[n].help)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "list the commands, or describe one: help COMMAND")
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "version", "print the version")
	io.WriteString(w, b.String())
}

// newFlags returns the flag set of a subcommand, reporting to stderr; args
// names its positional arguments in the usage line.
func newFlags(name, args string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pillctl "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: pillctl %s [flags] %s\n%s\n", name, args, commands[name].help)
		fs.PrintDefaults()
	}
	return fs
}

// parseAnywhere parses fs's flags wherever they stand among args: before,
// between or after the positional arguments, since people and docs write
// both `device add --label kitchen pt_1` and `device add pt_1 --label
// kitchen`. After "--" everything is positional. fs.Args() then holds the
// positional arguments in their order.
func parseAnywhere(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	// Parsing "--" alone sets no flag and leaves pos as fs.Args().
	return fs.Parse(append([]string{"--"}, pos...))
}

// parseFlags parses args into fs and wants n positional arguments; when ok
// is false the subcommand returns status (0 after -h, 2 on bad usage).
func parseFlags(fs *flag.FlagSet, args []string, n int) (status int, ok bool) {
	if err := parseAnywhere(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() != n {
		fs.Usage()
		return 2, false
	}
	return 0, true
}
