package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pillbox/pillbox/internal/browsertest"
)

func TestSafeNext(t *testing.T) {
	tests := []struct{ next, want string }{
		{"/patients/pt_1", "/patients/pt_1"},
		{"/patients/pt_1?days=7&x=%2F", "/patients/pt_1?days=7&x=%2F"},
		{"/a%20b", "/a%20b"},
		{"/a b", "/a%20b"},
		{"/%2F/evil.example", "/%2F/evil.example"}, // one path segment on this site
		{"/panel#frag", "/panel"},
		{"", "/panel"},
		{"panel", "/panel"},
		{"//evil.example", "/panel"},
		{"/\t/evil.example", "/panel"}, // a browser drops the tab: //evil.example
		{"/\n/evil.example", "/panel"},
		{"/\r/evil.example", "/panel"},
		{"/\\evil.example", "/panel"}, // a browser reads \ as /
		{"/x\\y", "/panel"},
		{"https://evil.example/", "/panel"},
		{"javascript:alert(1)", "/panel"},
		{"/\x00", "/panel"},
		{"/\x7f", "/panel"},
		{"/" + strings.Repeat("a", 3000), "/panel"},
	}
	for _, tc := range tests {
		if got := safeNext(tc.next); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.next, got, tc.want)
		}
	}
}

// sameSite reports whether a browser that follows the Location loc from
// https://clinic.example/login stays on clinic.example: it drops tabs and
// newlines and reads backslashes as slashes first, as the URL standard
// says.
func sameSite(loc string) bool {
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(loc)
	base, _ := url.Parse("https://clinic.example/login")
	u, err := base.Parse(loc)
	return err == nil && u.Scheme == "https" && u.Host == "clinic.example"
}

// FuzzSafeNext: whatever next is, the redirect stays on the site, also as
// a browser reads it.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/patients/pt_1?days=7", "/\t/evil.example", "//evil", "/\\evil", "https://evil", "/%2F%2Fevil", "/%09/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || !sameSite(got) {
			t.Fatalf("safeNext(%q) = %q: leaves the site", next, got)
		}
		if again := safeNext(got); again != got {
			t.Fatalf("safeNext(%q) = %q, but safeNext of that = %q", next, got, again)
		}
	})
}

// TestLoginRedirect: after signing in the browser is sent to next when it
// is a path here, and to the panel otherwise; so is a signed-in user who
// opens the login page.
func TestLoginRedirect(t *testing.T) {
	e := newEnv(t)
	for _, next := range []string{"/\t/evil.example", "//evil.example", "/\\evil.example"} {
		page := e.do("GET", "/login?next="+url.QueryEscape(next), "", "")
		var loginTok string
		for _, c := range page.Result().Cookies() {
			if c.Name == loginCookie {
				loginTok = c.Value
			}
		}
		form := url.Values{"username": {"alice"}, "password": {testPassword}, "csrf": {loginTok}, "next": {next}}
		r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: loginCookie, Value: loginTok})
		w := httptest.NewRecorder()
		e.handler.ServeHTTP(w, r)
		if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || loc != "/panel" {
			t.Errorf("sign in with next=%q = %d to %q, want 303 to /panel", next, w.Code, loc)
		}
		cookie := ""
		for _, c := range w.Result().Cookies() {
			if c.Name == sessionCookie {
				cookie = c.Value
			}
		}
		if w := e.do("GET", "/login?next="+url.QueryEscape(next), cookie, ""); w.Header().Get("Location") != "/panel" {
			t.Errorf("GET /login?next=%q signed in = %d to %q, want /panel", next, w.Code, w.Header().Get("Location"))
		}
	}
}

// TestBrowserLoginStaysOnSite: Chromium, signing in from a link whose next
// holds a tab before a second slash, ends on the clinic's panel, not on
// another site (a server on another loopback port stands for it).
func TestBrowserLoginStaysOnSite(t *testing.T) {
	ctx := browsertest.New(t)
	e := newEnv(t, func(c *Config) { c.PublicURL = "" })
	srv := httptest.NewServer(e.handler)
	t.Cleanup(srv.Close)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Write([]byte(`<title>evil</title><p id="evil">phished</p>`))
	}))
	t.Cleanup(evil.Close)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	host := strings.TrimPrefix(evil.URL, "http://")
	for _, next := range []string{"/\t/" + host + "/", "/\\" + host + "/", "//" + host + "/"} {
		err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/login?next="+url.QueryEscape(next)),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "alice"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPassword),
			chromedp.Click(chromedp.CSS(`form.login button`), chromedp.NodeVisible),
			// The panel, or the other site's page.
			chromedp.WaitVisible(chromedp.CSS(`table.panel, #evil`)))
		if err != nil {
			t.Fatalf("sign in with next=%q: %v", next, err)
		}
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		if err != nil || !strings.HasPrefix(loc, srv.URL+"/panel") {
			t.Errorf("after signing in with next=%q the browser is at %q (%v), want %s/panel", next, loc, err, srv.URL)
		}
		// Sign out for the next case.
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/panel"),
			chromedp.Click(chromedp.CSS(`form[action="/logout"] button`), chromedp.NodeVisible),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))); err != nil {
			t.Fatalf("sign out: %v", err)
		}
	}
}
