package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/pillbox/pillbox/cmd/internal/secret"
	"github.com/pillbox/pillbox/dispenser/httpapi"
)

// The dispenser's local API from the command line, with the token that
// root installed for it (docs/api.md): what a script on the device would
// do with curl, without the token in the shell's history.
func init() {
	register(command{name: "api", help: "call the dispenser's local API with its token", run: runAPI})
}

// defaultAPIToken is where dispenserd reads its token.
const defaultAPIToken = "/etc/pillbox/api.token"

func runAPI(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pillctl api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "http://127.0.0.1:8080", "the dispenser's API `URL` (its --listen)")
	tokenFile := fs.String("token", defaultAPIToken, "the API token `FILE`; with the default, a missing file means no token (dispenserd --sim needs none)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: pillctl api [-url URL] [-token FILE] METHOD PATH [JSON]\n\n"+
			"  pillctl api GET /api/status\n  pillctl api POST /api/doses/metformin@2026-03-10T08:00/skip '{\"by\":\"caregiver\"}'\n\n"+
			"The token file is root's and group pillbox's only: run as root or as a member of that group.")
		fs.PrintDefaults()
	}
	if err := parseAnywhere(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		fs.Usage()
		return 2
	}
	method, path := strings.ToUpper(fs.Arg(0)), fs.Arg(1)
	var body []byte
	if fs.NArg() == 3 {
		body = []byte(fs.Arg(2))
		if !json.Valid(body) {
			fmt.Fprintf(stderr, "pillctl api: the body %q is not JSON\n", fs.Arg(2))
			return 2
		}
	}
	if !strings.HasPrefix(path, "/") {
		fmt.Fprintf(stderr, "pillctl api: the path %q must start with /\n", path)
		return 2
	}
	explicit := false
	fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "token" })
	token, err := readAPIToken(*tokenFile, explicit)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl api: %v\n", err)
		return 1
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(*base, "/")+path, bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "pillctl api: %v\n", err)
		return 2
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Content-Type", "application/json") // the API refuses any other, and none
	}
	resp, err := (&http.Client{Timeout: 90 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "pillctl api: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintf(stderr, "pillctl api: %v\n", err)
		return 1
	}
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "pillctl api: %s %s: %s\n", method, path, resp.Status)
		return 1
	}
	return 0
}

// readAPIToken reads the token file. A missing default file means no
// token (a simulator); a missing file named on the command line is an
// error, as is one that holds no valid token.
func readAPIToken(path string, explicit bool) (string, error) {
	tok, _, err := secret.Read(path, httpapi.MaxTokenLen+2)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		return "", nil
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Errorf("api token: %w (run as root, or as a member of group pillbox)", err)
	case err != nil:
		return "", fmt.Errorf("api token: %w", err)
	case !httpapi.ValidToken(tok):
		return "", fmt.Errorf("api token: %s does not hold a valid token", path)
	}
	return tok, nil
}
