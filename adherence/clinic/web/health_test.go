package web

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
)

// downStore is a Store whose database no longer answers.
type downStore struct{ clinic.Store }

func (downStore) Ping(context.Context) error {
	return errors.New("dial unix /run/postgresql/.s.PGSQL.5432: connection refused")
}

// TestHealth: /healthz answers while the process runs, /readyz only while
// the database answers; neither needs a credential, and neither tells a
// caller why it is not ready.
func TestHealth(t *testing.T) {
	up := newEnv(t)
	down := newEnv(t, func(c *Config) {
		c.Clinic = clinic.New(downStore{up.Store}, up.Clock)
	})
	tests := []struct {
		name     string
		e        *env
		path     string
		wantCode int
		wantBody string
	}{
		{"alive", up, "/healthz", http.StatusOK, "ok\n"},
		{"ready", up, "/readyz", http.StatusOK, "ready\n"},
		{"alive without a database", down, "/healthz", http.StatusOK, "ok\n"},
		{"not ready without a database", down, "/readyz", http.StatusServiceUnavailable, "not ready\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.e.do("GET", tc.path, "", "")
			if w.Code != tc.wantCode || w.Body.String() != tc.wantBody {
				t.Errorf("GET %s = %d %q, want %d %q", tc.path, w.Code, w.Body, tc.wantCode, tc.wantBody)
			}
			if strings.Contains(w.Body.String(), "postgres") {
				t.Errorf("GET %s shows the database's error: %q", tc.path, w.Body)
			}
		})
	}
}
