package uplink

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/pillbox/pillbox/internal/problem"
)

// Config is the `sync:` section of the dispenser's config file. Without it
// the dispenser does not sync. The device token is a secret and is never in
// the file itself: it is read from TokenFile or from the environment
// variable TokenEnv.
type Config struct {
	// URL is the clinic service's base URL, e.g. https://clinic.example.org.
	// Plain http is accepted only to a loopback address (a local demo).
	URL string `yaml:"url"`
	// Device is the id pillctl printed when it registered this dispenser.
	Device    string `yaml:"device"`
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`
	// CAFile, if set, is a PEM file of the certificate authorities to trust
	// for the clinic service instead of the system's (a private CA).
	CAFile string `yaml:"ca_file"`
	// Interval is the heartbeat period when there is nothing to push.
	// Default 5m; keep it well under the clinic's silent period (30m).
	Interval time.Duration `yaml:"interval"`
	// Batch is the most events sent in one request. Default 200.
	Batch int `yaml:"batch"`
}

// Defaults of Config.
const (
	DefaultInterval = 5 * time.Minute
	DefaultBatch    = 200
	minInterval     = 10 * time.Second
	maxInterval     = 30 * time.Minute
)

// Validate checks the section; paths are relative to it.
func (c *Config) Validate() problem.List {
	var l problem.List
	if c.URL == "" {
		l.Add("url", "add url: the clinic service's address, e.g. url: https://clinic.example.org", "no url")
	} else if err := checkURL(c.URL); err != nil {
		l.Add("url", "write an absolute https URL, e.g. https://clinic.example.org (http only to 127.0.0.1 or localhost)", "%v", err)
	}
	if c.Device == "" {
		l.Add("device", "add device: the id `pillctl clinic device add` printed", "no device id")
	} else if err := checkID(c.Device); err != nil {
		l.Add("device", "copy the id `pillctl clinic device add` printed", "device id: %v", err)
	}
	switch {
	case c.TokenFile == "" && c.TokenEnv == "":
		l.Add("", "add token_file: the path of a file holding the device token (mode 0600), or token_env: the name of an environment variable holding it",
			"no device token source")
	case c.TokenFile != "" && c.TokenEnv != "":
		l.Add("token_env", "keep token_file or token_env, not both", "two device token sources")
	}
	if c.Interval != 0 && (c.Interval < minInterval || c.Interval > maxInterval) {
		l.Add("interval", "write a duration between 10s and 30m, e.g. interval: 5m", "interval %v is out of range", c.Interval)
	}
	if c.Batch < 0 || c.Batch > MaxEvents {
		l.Add("batch", fmt.Sprintf("write a number between 1 and %d, or leave it out for %d", MaxEvents, DefaultBatch),
			"batch %d is out of range", c.Batch)
	}
	return l
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("url is not a URL")
	}
	switch {
	case u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return errors.New("url must be an absolute http(s) URL")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return errors.New("url must not carry a user, a query or a fragment")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return errors.New("url must use https unless it points at this machine")
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReadToken reads the device token from the file or the environment.
// Errors never contain the token.
func (c *Config) ReadToken() (string, error) {
	var raw string
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", fmt.Errorf("uplink: device token: %w", err)
		}
		raw = string(b)
	} else {
		v, ok := os.LookupEnv(c.TokenEnv)
		if !ok {
			return "", fmt.Errorf("uplink: device token: environment variable %s is not set", c.TokenEnv)
		}
		raw = v
	}
	tok := strings.TrimSpace(raw)
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", errors.New("uplink: device token: empty, or more than one word")
	}
	return tok, nil
}

// CheckTokenFile says when the token file can be read by others than its
// owner (the device token lets its holder write the patient's record at
// the clinic): dispenserd warns, as it does of the Twilio token's file.
// nil when the token comes from the environment or the file is private;
// ReadToken reports a file it cannot read.
func (c *Config) CheckTokenFile() error {
	if c.TokenFile == "" {
		return nil
	}
	st, err := os.Stat(c.TokenFile)
	if err != nil {
		return nil
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("uplink: the device token file %s can be read by others (mode %04o); chmod 600 it", c.TokenFile, perm)
	}
	return nil
}

// HTTPClient returns the client to reach the clinic with: the system's
// roots or CAFile's, TLS 1.2 at least, and a bound on each request so a
// stalled server never holds the pusher.
func (c *Config) HTTPClient() (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("uplink: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("uplink: ca_file: %s holds no PEM certificate", c.CAFile)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, nil
}
