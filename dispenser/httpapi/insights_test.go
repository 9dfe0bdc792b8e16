package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestInsights(t *testing.T) {
	var asked int
	h := Insights(func(_ context.Context, days int) (any, error) {
		asked = days
		if days == 13 {
			return nil, errors.New("disk on fire at /var/lib/pillbox")
		}
		return map[string]int{"days": days}, nil
	}, 28, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tc := range []struct {
		query    string
		status   int
		wantDays int
	}{
		{"", http.StatusOK, 7},
		{"days=1", http.StatusOK, 1},
		{"days=28", http.StatusOK, 28},
		{"days=0", http.StatusBadRequest, 0},
		{"days=29", http.StatusBadRequest, 0},
		{"days=-3", http.StatusBadRequest, 0},
		{"days=+3", http.StatusBadRequest, 0},
		{"days=07", http.StatusBadRequest, 0},
		{"days=seven", http.StatusBadRequest, 0},
		{"days=13", http.StatusInternalServerError, 13},
	} {
		t.Run(tc.query, func(t *testing.T) {
			asked = 0
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/insights?"+tc.query, nil))
			if rec.Code != tc.status || asked != tc.wantDays {
				t.Fatalf("GET ?%s = %d (asked for %d days), want %d (%d days)", tc.query, rec.Code, asked, tc.status, tc.wantDays)
			}
			if strings.Contains(rec.Body.String(), "/var/lib") {
				t.Errorf("GET ?%s answers internal detail: %s", tc.query, rec.Body)
			}
			if rec.Code == http.StatusOK {
				var got map[string]int
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || got["days"] != tc.wantDays {
					t.Errorf("GET ?%s body = %s, want the report of %d days", tc.query, rec.Body, tc.wantDays)
				}
			}
		})
	}
}

func FuzzInsightDays(f *testing.F) {
	for _, s := range []string{"", "7", "0", "28", "29", "-1", "+3", "1e3", "99999999999999999999", " 7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := insightDays(s, 28)
		switch {
		case err != nil:
			if !strings.Contains(err.Error(), "from 1 to 28") {
				t.Errorf("insightDays(%q) error %q does not say what is wanted", s, err)
			}
		case n < 1 || n > 28:
			t.Errorf("insightDays(%q) = %d, want 1 to 28", s, n)
		case s != "" && strconv.Itoa(n) != s:
			t.Errorf("insightDays(%q) = %d: accepted a form other than the plain number", s, n)
		}
	})
}
