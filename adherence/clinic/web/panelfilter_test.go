package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/report"
)

func TestParsePanelFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    PanelFilter
		wantErr bool
	}{
		{"", PanelFilter{}, false},
		{"q=+Ann+&below=80&alerts=1", PanelFilter{Name: "Ann", Below: 0.8, BelowText: "80", Alerts: true}, false},
		{"alerts=on", PanelFilter{Alerts: true}, false},
		{"below=0", PanelFilter{}, true},
		{"below=101", PanelFilter{}, true},
		{"below=8.5", PanelFilter{}, true},
		{"alerts=yes", PanelFilter{}, true},
		{"q=" + strings.Repeat("a", maxSearch+1), PanelFilter{}, true},
		{"q=%ff", PanelFilter{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			got, err := parsePanelFilter(q)
			if (err != nil) != tc.wantErr || err == nil && got != tc.want {
				t.Errorf("parsePanelFilter(%q) = %+v, %v; want %+v, error %v", tc.query, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func FuzzParsePanelFilter(f *testing.F) {
	for _, s := range []string{"", "q=Ann&below=80&alerts=1", "below=-1", "q=%ff", "alerts=on&below=100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		pf, err := parsePanelFilter(q)
		if err != nil {
			return
		}
		if pf.Below < 0 || pf.Below > 1 || len(pf.Name) > maxSearch {
			t.Errorf("parsePanelFilter(%q) = %+v, out of bounds", query, pf)
		}
	})
}

func TestPanelFilterKeep(t *testing.T) {
	row := func(name string, sched int, taking float64, open int) PanelRow {
		return PanelRow{PanelEntry: clinic.PanelEntry{Patient: clinic.Patient{DisplayName: name}},
			Stats: report.PanelStats{Scheduled: sched, Taking: taking, OpenAlerts: open}}
	}
	tests := []struct {
		name string
		f    PanelFilter
		r    PanelRow
		want bool
	}{
		{"any", PanelFilter{}, row("Ann", 0, 0, 0), true},
		{"name, any case", PanelFilter{Name: "aNN"}, row("Ann Patient", 1, 1, 0), true},
		{"other name", PanelFilter{Name: "ben"}, row("Ann Patient", 1, 1, 0), false},
		{"below", PanelFilter{Below: 0.8}, row("Ann", 10, 0.7, 0), true},
		{"at the threshold", PanelFilter{Below: 0.8}, row("Ann", 10, 0.8, 0), false},
		{"no doses is not below", PanelFilter{Below: 0.8}, row("Ann", 0, 0, 0), false},
		{"open alerts", PanelFilter{Alerts: true}, row("Ann", 1, 1, 2), true},
		{"no open alert", PanelFilter{Alerts: true}, row("Ann", 1, 1, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Keep(tc.r); got != tc.want {
				t.Errorf("%+v.Keep(%+v) = %v, want %v", tc.f, tc.r.Stats, got, tc.want)
			}
		})
	}
}

// TestPanelSearch: the panel's search works from the query alone (no
// script), and a bad query is a 400 that says what is wrong.
func TestPanelSearch(t *testing.T) {
	e := newEnv(t)
	e.syncSynthetic(30)
	cookie, _ := e.login("alice", testPassword)
	tests := []struct {
		query       string
		code        int
		want, avoid string
	}{
		{"q=ann", http.StatusOK, `href="/patients/` + e.PatA.ID, "No patient matches"},
		{"q=zzz", http.StatusOK, "No patient matches this search", `href="/patients/`},
		{"below=100", http.StatusOK, `href="/patients/` + e.PatA.ID, "No patient matches"},
		{"below=1", http.StatusOK, "No patient matches this search", `href="/patients/`},
		{"below=abc", http.StatusBadRequest, "whole percentage", `href="/patients/`},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			w := e.do("GET", "/panel?"+tc.query, cookie, "")
			if w.Code != tc.code || !strings.Contains(w.Body.String(), tc.want) || strings.Contains(w.Body.String(), tc.avoid) {
				t.Errorf("GET /panel?%s = %d, want %d with %q and without %q: %.600s", tc.query, w.Code, tc.code, tc.want, tc.avoid, w.Body)
			}
		})
	}
}
