// Command dispenserd runs the pill dispenser on its single-board computer:
// hardware, dose schedule, local log and SMS outbox, and the local HTTP API
// and panel. With --sim it runs the same code on a simulated board and
// clock; --check-config FILE validates a configuration and exits.

// The CPUs of a dispenser never change, so the runtime need not re-read the
// cgroup CPU limit every second: an idle device should sleep.
//
//go:debug updatemaxprocs=0
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
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
	var o options
	checkConfig := fs.String("check-config", "", "check the config `FILE`, print its problems with line numbers and exit (status 0 when it is clean)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.StringVar(&o.config, "config", "/etc/pillbox/dispenser.yaml", "the config `FILE`")
	fs.BoolVar(&o.sim, "sim", false, "run on a simulated board and clock, with the simulator's controls in the HTTP API")
	fs.StringVar(&o.data, "data", "/var/lib/pillbox", "`DIR` for the database (created 0700)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "HTTP API and panel `ADDR`ess")
	fs.Float64Var(&o.simSpeed, "sim-speed", 0, "with --sim: run the simulated clock at `N` times real time (0: it moves only when told to)")
	fs.StringVar(&o.simStart, "sim-start", "", "with --sim: start the simulated clock at this RFC 3339 `TIME` (default now)")
	fs.StringVar(&o.simState, "sim-state", "", "with --sim: keep the simulated world (pill counts, cup, lid) in `FILE` across restarts")
	fs.BoolVar(&o.simUnsynced, "sim-unsynced", false, "with --sim: boot with the simulated clock not NTP-synchronised (untrusted until POST /api/sim/ntp {\"synced\":true})")
	fs.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	fs.StringVar(&o.apiToken, "api-token", "", "the local API's token `FILE` (default "+defaultAPIToken+"; none with --sim); SIGHUP re-reads it")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve the API over TLS with this certificate `FILE` (PEM; needed to --listen beyond loopback)")
	fs.StringVar(&o.tlsKey, "tls-key", "", "the TLS private key `FILE` (PEM)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dispenserd: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch {
	case *showVersion:
		fmt.Fprintln(stdout, "dispenserd", version)
		return 0
	case *checkConfig != "":
		return config.Check(*checkConfig, stdout, stderr)
	}
	if !o.sim && (o.simSpeed != 0 || o.simStart != "" || o.simState != "" || o.simUnsynced) {
		fmt.Fprintln(stderr, "dispenserd: --sim-speed, --sim-start, --sim-state and --sim-unsynced need --sim")
		return 2
	}
	if o.apiToken == "" && !o.sim {
		o.apiToken = defaultAPIToken
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if o.logJSON {
		h = slog.NewJSONHandler(stderr, nil)
	}
	if err := daemon(o, slog.New(h)); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
