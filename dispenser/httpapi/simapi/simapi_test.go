package simapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// readParsed answers what it refuses, with the status that says why, and
// hands on only what parse accepted.
func TestReadParsed(t *testing.T) {
	parse := func(b []byte) (string, error) {
		if string(b) != `"ok"` {
			return "", errors.New("body must be \"ok\"")
		}
		return "parsed", nil
	}
	tests := []struct {
		name, ct, body string
		wantOK         bool
		wantCode       int
		wantMsg        string
	}{
		{"parsed", "application/json", `"ok"`, true, 0, ""},
		{"parse refuses", "application/json", `"no"`, false, http.StatusBadRequest, `body must be \"ok\"`},
		{"not JSON", "text/plain", `"ok"`, false, http.StatusUnsupportedMediaType, "application/json"},
		{"too large", "application/json", `"` + strings.Repeat("x", 64) + `"`, false, http.StatusRequestEntityTooLarge, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodPost, "/api/sim/x", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			got, ok := readParsed(w, r, 32, parse)
			if ok != tt.wantOK {
				t.Fatalf("readParsed(%s) ok = %v, want %v (answered %d %s)", tt.body, ok, tt.wantOK, w.Code, w.Body)
			}
			if ok {
				if got != "parsed" {
					t.Errorf("readParsed(%s) = %q, want %q", tt.body, got, "parsed")
				}
				return
			}
			if w.Code != tt.wantCode || !strings.Contains(w.Body.String(), tt.wantMsg) {
				t.Errorf("readParsed(%s) answered %d %s, want %d with %q", tt.body, w.Code, w.Body, tt.wantCode, tt.wantMsg)
			}
		})
	}
}
