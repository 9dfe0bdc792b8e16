// Package twilioconf owns the `escalation.twilio:` section of the
// dispenser's config file: its fields, their checks and their defaults.
//
// It is apart from package twilio, which talks to Twilio, so that what
// only reads or checks a config file (pillctl, dispenserd --check-config)
// does not link the twilio-go client; a second SMS provider would bring
// its own section beside it.
package twilioconf

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/pillbox/pillbox/internal/problem"
	"github.com/pillbox/pillbox/notify"
)

// Section is the `escalation.twilio:` section. The auth token is never
// written in the file: it is read from AuthTokenFile, or from the
// TWILIO_AUTH_TOKEN environment variable.
type Section struct {
	AccountSID string `yaml:"account_sid"`
	// From is the sending number (E.164); or set MessagingServiceSID.
	From                string `yaml:"from"`
	MessagingServiceSID string `yaml:"messaging_service_sid"`
	AuthTokenFile       string `yaml:"auth_token_file"`
	// AuthToken exists only so the checker can say where the token goes
	// instead of calling it an unknown key.
	AuthToken string `yaml:"auth_token"`
	// PublicURL is where Twilio reaches this device's HTTP server, e.g.
	// "https://pillbox.example.org": replies arrive at PublicURL+SMSPath
	// and delivery statuses at PublicURL+StatusPath. Without it texts go
	// out but replies and statuses are not received.
	PublicURL string `yaml:"public_url"`
	// Listen is the address of the webhooks' own listener, which serves
	// nothing else (the local API is never reachable through it); the
	// reverse proxy or tunnel behind PublicURL forwards /twilio/ there.
	// Default DefaultListen.
	Listen string `yaml:"listen"`
	// InSim sends real texts even with --sim.
	InSim bool `yaml:"in_sim"`
}

const (
	// DefaultListen is where the webhooks listen when public_url is set
	// and listen is not.
	DefaultListen = "127.0.0.1:8081"
	// SMSPath and StatusPath are the webhooks' paths under public_url:
	// the number's "a message comes in" URL and the status callback.
	SMSPath    = "/twilio/sms"
	StatusPath = "/twilio/status"
	// CallStatusPath and GatherPath are a voice call's: its end (status
	// callback) and the key pressed (the Gather's action).
	CallStatusPath = "/twilio/call/status"
	GatherPath     = "/twilio/call/gather"
)

// isSID reports whether s is a Twilio SID of the given kind: the prefix
// and 32 lower-case hex digits. Checked by hand rather than by regexps
// compiled at init, which every daemon paid for, Twilio or not.
func isSID(s, prefix string) bool {
	hex, ok := strings.CutPrefix(s, prefix)
	if !ok || len(hex) != 32 {
		return false
	}
	for _, c := range []byte(hex) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Validate checks the section; paths are relative to it.
func (t *Section) Validate() problem.List {
	var l problem.List
	if t.AuthToken != "" {
		l.Add("auth_token", "remove it; put the token in a file only the daemon can read and set auth_token_file:, or set TWILIO_AUTH_TOKEN in the service's environment",
			"the auth token must not be written in the config file")
	}
	if !isSID(t.AccountSID, "AC") {
		l.Add("account_sid", `copy the Account SID from the Twilio console: "AC" and 32 hex digits`, "account_sid is missing or malformed")
	}
	switch {
	case t.From == "" && t.MessagingServiceSID == "":
		l.Add("", `add from: "+1..." (your Twilio number) or messaging_service_sid: MG...`, "no sender: set from or messaging_service_sid")
	case t.From != "" && t.MessagingServiceSID != "":
		l.Add("from", "keep one of from and messaging_service_sid", "both from and messaging_service_sid are set")
	case t.From != "" && !notify.IsE164(t.From):
		l.Add("from", `write the Twilio number in E.164 form, e.g. "+15555550123"`, "from is not an E.164 number")
	case t.MessagingServiceSID != "" && !isSID(t.MessagingServiceSID, "MG"):
		l.Add("messaging_service_sid", `"MG" and 32 hex digits, from the Twilio console`, "messaging_service_sid is malformed")
	}
	if t.PublicURL != "" {
		if err := checkPublicURL(t.PublicURL); err != nil {
			l.Add("public_url", `write the base URL Twilio can reach, e.g. "https://pillbox.example.org"`, "%v", err)
		}
	}
	if t.Listen != "" {
		if err := checkListen(t.Listen); err != nil {
			l.Add("listen", `write the address the webhooks listen on, e.g. "`+DefaultListen+`"`, "%v", err)
		} else if t.PublicURL == "" {
			l.Add("listen", "add public_url: (the URL Twilio calls, which the signatures cover), or remove listen",
				"listen is set without public_url: no webhook could be checked")
		}
	}
	return l
}

// WebhookListen is where the webhooks listen: Listen, or the default when
// Twilio can reach us (PublicURL set); "" when it cannot.
func (t *Section) WebhookListen() string {
	switch {
	case t.PublicURL == "":
		return ""
	case t.Listen != "":
		return t.Listen
	}
	return DefaultListen
}

// checkListen checks a host:port to listen on: a numeric port from 1 to
// 65535 and a host name, an IP literal or nothing (every interface).
func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("listen %q is not host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("listen %q needs a port from 1 to 65535", s)
	}
	if host != "" && net.ParseIP(host) == nil && !isHostName(host) {
		return fmt.Errorf("listen %q: %q is not a host name or an IP address", s, host)
	}
	return nil
}

// isHostName reports whether s is a DNS host name: dot-separated labels
// of 1 to 63 letters, digits and hyphens, no label starting or ending with
// a hyphen. (A regexp of this, compiled at init, was 100 kB of every
// daemon's heap.)
func isHostName(s string) bool {
	for label := range strings.SplitSeq(s, ".") {
		if len(label) < 1 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func checkPublicURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return errors.New("public_url must be an absolute http(s) URL without query or fragment")
	}
	return nil
}
