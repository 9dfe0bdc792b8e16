// Command adherenced is the clinic service: it takes event batches from
// many dispensers (they push; see package uplink), keeps them in its
// database (an SQLite file by default; --db), texts caregivers when a
// dispenser goes silent, and serves clinicians' pages and the JSON API
// behind sign-in. See docs/clinic.md.
//
// It serves HTTPS itself with --tls-cert and --tls-key, or plain HTTP on a
// loopback address behind a reverse proxy on the same machine that
// terminates TLS (--trusted-proxy names it, and --public-url says the
// address clinicians use). Plain HTTP is served only on a loopback address,
// with or without a proxy, never to a network: it would carry passwords
// and patient data in the clear. A proxy on another host reaches
// adherenced over TLS.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic/silent"
	"github.com/pillbox/pillbox/cmd/internal/clinicdb"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// options are the daemon's flags.
type options struct {
	listen      string
	data        string
	db          string
	tlsCert     string
	tlsKey      string
	publicURL   string
	proxies     []netip.Prefix
	silentAfter time.Duration
	demo        bool
	demoConfig  string
	logJSON     bool
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("adherenced", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8090", "`ADDR`ess to serve on")
	fs.StringVar(&o.data, "data", "/var/lib/pillbox-clinic", "`DIR` for the SQLite database (created 0700; files 0600) and the demo's files")
	fs.StringVar(&o.db, "db", "", "the clinic `DATABASE`: an SQLite file's path or file: URL, or postgres://... (default DIR/clinic.db)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "serve HTTPS with this PEM certificate (chain) `FILE`")
	fs.StringVar(&o.tlsKey, "tls-key", "", "and this PEM private key `FILE`")
	fs.StringVar(&o.publicURL, "public-url", "", "the `URL` clinicians use, e.g. https://clinic.example.org (makes cookies Secure behind a TLS proxy)")
	fs.Func("trusted-proxy", "a reverse proxy's `ADDR`ess or CIDR whose X-Forwarded-For/-Proto to believe (repeat or comma-separate)", func(v string) error {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					return fmt.Errorf("%q is not an address or CIDR", s)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			o.proxies = append(o.proxies, p)
		}
		return nil
	})
	fs.DurationVar(&o.silentAfter, "silent-after", silent.DefaultAfter, "text caregivers when a dispenser has not been heard from for this `DURATION`")
	fs.BoolVar(&o.demo, "demo", false, "set up a demo clinician (password printed) and the demo dispenser (token in DIR/demo-device.token)")
	fs.StringVar(&o.demoConfig, "demo-dispenser-config", "", "with --demo: copy this dispenser config `FILE` to DIR/demo-dispenser.yaml with a sync: section for this service")
	fs.BoolVar(&o.logJSON, "log-json", false, "log JSON lines instead of text")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "adherenced: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, "adherenced", version)
		return 0
	}
	if err := o.check(); err != nil {
		fmt.Fprintln(stderr, "adherenced:", err)
		return 2
	}
	var h slog.Handler = slog.NewTextHandler(stderr, nil)
	if o.logJSON {
		h = slog.NewJSONHandler(stderr, nil)
	}
	if err := daemon(o, stdout, slog.New(h)); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// check refuses flag combinations that would be unsafe or do nothing.
func (o *options) check() error {
	switch {
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case o.demoConfig != "" && !o.demo:
		return errors.New("--demo-dispenser-config needs --demo")
	case o.silentAfter < time.Minute:
		return errors.New("--silent-after must be at least 1m")
	}
	// Plain HTTP only where nothing but this machine can listen in: a
	// proxy on another host would carry passwords and patient data in the
	// clear across the network between the two, whatever it does outside.
	if _, err := clinicdb.Parse(o.database()); err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	if o.tlsCert == "" && !loopback(o.listen) {
		return fmt.Errorf("refusing to serve plain HTTP on %s: give --tls-cert and --tls-key, or listen on a loopback address (127.0.0.1:8090) behind a TLS reverse proxy on this machine", o.listen)
	}
	return nil
}

// database is the --db value, or the SQLite file under --data.
func (o *options) database() string {
	if o.db != "" {
		return o.db
	}
	return filepath.Join(o.data, "clinic.db")
}

func loopback(listen string) bool {
	host := listen
	if i := strings.LastIndex(listen, ":"); i >= 0 {
		host = listen[:i]
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
