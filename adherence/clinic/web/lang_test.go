package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/internal/i18n"
)

// TestPagesFollowAcceptLanguage: the pages' own words follow the browser's
// Accept-Language, and say which language they are in.
func TestPagesFollowAcceptLanguage(t *testing.T) {
	e := newEnv(t)
	e.syncSynthetic(14)
	cookie, _ := e.login("alice", testPassword)
	tests := []struct {
		accept, lang, signOut, heading string
	}{
		{"", "en", "Sign out", "Adherence per medication"},
		{"de-CH,de;q=0.9", "de", "Abmelden", "Therapietreue je Medikament"},
		{"es-MX", "es", "Cerrar sesión", "Adherencia por medicamento"},
		{"fr", "fr", "Se déconnecter", "Observance par médicament"},
		{"pt-BR,pt;q=0.8", "pt-BR", "Sair", "Adesão por medicamento"},
		{"ja", "en", "Sign out", "Adherence per medication"},
	}
	for _, tc := range tests {
		t.Run(tc.accept, func(t *testing.T) {
			w := e.do("GET", "/patients/"+e.PatA.ID, cookie, "", "Accept-Language", tc.accept)
			body := w.Body.String()
			if got := w.Header().Get("Content-Language"); got != tc.lang || !strings.Contains(body, `<html lang="`+tc.lang+`">`) {
				t.Errorf("Accept-Language %q: Content-Language %q, want %q and <html lang=%q>", tc.accept, got, tc.lang, tc.lang)
			}
			for _, s := range []string{tc.signOut, "<h2>" + tc.heading + "</h2>"} {
				if !strings.Contains(body, s) {
					t.Errorf("Accept-Language %q: page lacks %q", tc.accept, s)
				}
			}
		})
	}
}

// TestTemplateMessagesExist: every message a template asks for is in the
// base catalogue (i18n's TestSameMessages holds the others to it).
func TestTemplateMessagesExist(t *testing.T) {
	ids := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		b, _ := fs.ReadFile(assets, name)
		for _, m := range ids.FindAllStringSubmatch(string(b), -1) {
			n++
			if !i18n.Lookup(i18n.Base).Has(m[1]) {
				t.Errorf("%s asks for message %q, which the %s catalogue lacks", name, m[1], i18n.Base)
			}
		}
	}
	if n == 0 {
		t.Error("no template asks for a message: the pattern is wrong")
	}
}
