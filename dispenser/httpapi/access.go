package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
)

// Access is the API's front door: every request passes it before any
// route. A dispenser's API moves pills and shows PHI, and the machine it
// runs on has a browser, so a request is served only when all of these
// hold:
//
//   - its Host is the address the API listens on (a loopback literal or
//     localhost, or the host given to --listen) with the listening port:
//     a DNS-rebinding page, whose requests carry its own name, is
//     answered 421;
//   - it is not from another origin: a present Origin must be this one,
//     and a browser's Sec-Fetch-Site must say same-origin (or none, for an
//     address typed into the browser); a page of another origin is
//     answered 403 (navigating to the panel's pages excepted);
//   - outside the panel's pages it carries a credential: the API token as
//     "Authorization: Bearer TOKEN"; in sim mode also the panel's session
//     cookie, or nothing at all when it comes from this machine and
//     carries no browser's marks (a script, as the README's curl
//     examples): else 401;
//   - anything but GET and HEAD has Content-Type: application/json, which
//     no form, beacon or simple fetch can send: else 415.
//
// No CORS header is ever sent, so a browser never lets another origin read
// an answer or send a preflighted request.
type Access struct {
	sim     bool
	scheme  string          // "http" or "https"
	hosts   map[string]bool // canonical Host values accepted
	token   *Token
	session string // the panel session's secret; "" for no sessions
	cookie  string // its cookie's name
	pages   []string
	log     *slog.Logger
}

// AccessConfig is what NewAccess needs.
type AccessConfig struct {
	// Listen is the address as given to --listen ("127.0.0.1:8080",
	// "pillbox.local:8443"); Port is the port actually bound (Listen may
	// say 0).
	Listen string
	Port   int
	TLS    bool
	Sim    bool
	// Token is the API token; nil or empty refuses every credential.
	Token *Token
	// Session, in sim mode, is the secret of the panel's session cookie,
	// set on the panel's pages for browsers on this machine; "" for none.
	Session string
	// Pages are paths served without a credential: the panel's page and
	// its assets. An entry ending in "/" (other than "/" itself) is a
	// prefix; others are exact.
	Pages  []string
	Logger *slog.Logger
}

// NewAccess returns the policy for an API listening as c says.
func NewAccess(c AccessConfig) *Access {
	a := &Access{sim: c.Sim, scheme: "http", token: c.Token, pages: c.Pages, log: c.Logger,
		hosts: map[string]bool{}, cookie: "pillbox_panel_" + strconv.Itoa(c.Port)}
	if c.TLS {
		a.scheme = "https"
	}
	if c.Sim {
		a.session = c.Session
	}
	if a.token == nil {
		a.token = &Token{}
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	port := strconv.Itoa(c.Port)
	names := []string{"localhost", "127.0.0.1", "::1"}
	if h, _, err := net.SplitHostPort(c.Listen); err == nil && h != "" {
		if ip, err := netip.ParseAddr(h); err != nil || !ip.IsUnspecified() {
			names = append(names, h)
		}
	}
	for _, n := range names {
		if h, ok := CanonicalHost(net.JoinHostPort(n, port)); ok {
			a.hosts[h] = true
		}
	}
	return a
}

// authority is h in canonical form with its port, the scheme's default
// port when it names none.
func (a *Access) authority(h string) (string, bool) {
	h, ok := CanonicalHost(h)
	if !ok {
		return "", false
	}
	if strings.HasSuffix(h, "]") || !strings.Contains(h, ":") {
		if a.scheme == "https" {
			return h + ":443", true
		}
		return h + ":80", true
	}
	return h, true
}

// Wrap puts the policy in front of h.
func (a *Access) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, msg := a.check(r)
		if code != 0 {
			if code == http.StatusUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="pillbox"`)
			}
			a.log.Info("httpapi: refused", "method", r.Method, "path", logPath(r.URL.Path), "status", code)
			WriteError(w, code, msg)
			return
		}
		if a.session != "" && r.Method == http.MethodGet && a.page(r.URL.Path) && loopbackPeer(r) {
			http.SetCookie(w, &http.Cookie{Name: a.cookie, Value: a.session, Path: "/", HttpOnly: true,
				SameSite: http.SameSiteStrictMode, Secure: a.scheme == "https"})
		}
		h.ServeHTTP(w, r)
	})
}

// logPath is a request's path as the log may show it: without the query
// or any header (they may carry a token), and without a dose id, which
// names a medication.
func logPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/api/doses/"); ok {
		_, tail, _ := strings.Cut(rest, "/")
		return "/api/doses/{id}/" + tail
	}
	return p
}

// check returns the refusal of r, or 0.
func (a *Access) check(r *http.Request) (int, string) {
	host, ok := a.authority(r.Host)
	if !ok || !a.hosts[host] {
		return http.StatusMisdirectedRequest, "this API answers only at its own address (Host " + a.anyHost() + ")"
	}
	if o := r.Header.Get("Origin"); o != "" && !a.sameOrigin(o, host) {
		return http.StatusForbidden, "requests from another origin are refused"
	}
	safe := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin":
	case "none": // typed into the address bar, or a bookmark
		if !safe {
			return http.StatusForbidden, "requests from another site are refused"
		}
	default: // same-site, cross-site, or anything else a browser may say
		if !safe || r.Header.Get("Sec-Fetch-Mode") != "navigate" || !a.page(r.URL.Path) {
			return http.StatusForbidden, "requests from another site are refused"
		}
	}
	if !a.page(r.URL.Path) && !a.authorised(r) {
		return http.StatusUnauthorized, "this API needs its token: Authorization: Bearer TOKEN (see docs/api.md)"
	}
	if !safe && !JSONBody(r.Header.Get("Content-Type")) {
		return http.StatusUnsupportedMediaType, "requests must have Content-Type: application/json"
	}
	return 0, ""
}

// anyHost is one accepted Host, for the refusal's message.
func (a *Access) anyHost() string {
	for _, h := range []string{"127.0.0.1", "[::1]", "localhost"} {
		for k := range a.hosts {
			if strings.HasPrefix(k, h+":") {
				return k
			}
		}
	}
	return ""
}

// sameOrigin reports whether origin is this server's, reached as host.
func (a *Access) sameOrigin(origin, host string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != a.scheme || u.Path != "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return false
	}
	h, ok := a.authority(u.Host)
	return ok && h == host
}

// page reports whether path is one of the panel's pages.
func (a *Access) page(path string) bool {
	for _, p := range a.pages {
		if path == p || len(p) > 1 && strings.HasSuffix(p, "/") && strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// authorised reports whether r carries a credential the API accepts.
func (a *Access) authorised(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); h != "" {
		// A credential that is present but wrong is never made up for by
		// another.
		tok, ok := ParseBearer(h)
		return ok && a.token.Valid(tok)
	}
	if !a.sim {
		return false
	}
	if c, err := r.Cookie(a.cookie); err == nil && a.session != "" {
		return subtle.ConstantTimeCompare([]byte(c.Value), []byte(a.session)) == 1
	}
	// A script on this machine: a browser always sends one of these on
	// the requests of a page.
	return r.Header.Get("Origin") == "" && r.Header.Get("Sec-Fetch-Site") == "" && loopbackPeer(r)
}

// loopbackPeer reports whether r came from this machine.
func loopbackPeer(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// CanonicalHost puts a Host header (or an Origin's host) in the one form
// the API compares: lower case, IP literals in their shortest form, IPv6
// in brackets, the port as given if any. It refuses anything that is not
// a host name or an IP literal with an optional decimal port, including
// a trailing dot, user info and zones.
func CanonicalHost(h string) (string, bool) {
	if h == "" || len(h) > 300 {
		return "", false
	}
	host, port := h, ""
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false
		}
		host, port = h[1:end], h[end+1:]
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return "", false
		}
		host = "[" + ip.String() + "]"
		if port != "" {
			if port[0] != ':' {
				return "", false
			}
			port = port[1:]
		}
	} else if i := strings.LastIndexByte(h, ':'); i >= 0 {
		host, port = h[:i], h[i+1:]
		if strings.Contains(host, ":") {
			return "", false // an IPv6 literal must be in brackets
		}
	}
	if !strings.HasPrefix(host, "[") {
		if ip, err := netip.ParseAddr(host); err == nil {
			if !ip.Is4() {
				return "", false
			}
			host = ip.String()
		} else if !hostName(host) {
			return "", false
		}
		host = strings.ToLower(host)
	}
	if port == "" {
		if strings.HasSuffix(h, ":") {
			return "", false
		}
		return host, true
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
		return "", false
	}
	return host + ":" + port, true
}

// hostName reports whether s is a DNS name: dot-separated labels of
// letters, digits and hyphens, none empty, none starting or ending with a
// hyphen, the last not all digits (browsers read "127.1" or "127.0.0.01"
// as IPv4 addresses). A trailing dot is refused: "localhost." is another
// origin.
func hostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return false
	}
	for _, label := range labels {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := range len(label) {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ParseBearer reads an Authorization header of the Bearer scheme (RFC
// 6750: the scheme in any case, one or more spaces, a b64token) and
// returns the token.
func ParseBearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	if !ValidToken(tok) {
		return "", false
	}
	return tok, true
}

// Token lengths: the shortest a token file may hold (guessing one is
// hopeless) and the longest a header may carry.
const (
	MinTokenLen = 16
	MaxTokenLen = 512
)

// ValidToken reports whether s can be an API token: a b64token (letters,
// digits and -._~+/, then any '='), what "head -c 32 /dev/urandom | base64"
// and "openssl rand -hex 32" print, of MinTokenLen to MaxTokenLen bytes.
func ValidToken(s string) bool {
	if len(s) < MinTokenLen || len(s) > MaxTokenLen {
		return false
	}
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := range len(body) {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

// Token is the API token. Set replaces it while requests are served, so
// that rotating the file takes effect without a restart.
type Token struct {
	sum atomic.Pointer[[sha256.Size]byte]
}

// Set makes s the token; "" leaves the API without one, which refuses
// every token.
func (t *Token) Set(s string) {
	if s == "" {
		t.sum.Store(nil)
		return
	}
	sum := sha256.Sum256([]byte(s))
	t.sum.Store(&sum)
}

// Loaded reports whether a token is set.
func (t *Token) Loaded() bool { return t.sum.Load() != nil }

// Valid reports whether presented is the token. It compares digests in
// constant time, so neither the token's bytes nor its length leak
// through timing.
func (t *Token) Valid(presented string) bool {
	want := t.sum.Load()
	if want == nil || presented == "" {
		return false
	}
	got := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
