package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/pillbox/pillbox/hw/vital"
)

// readingList is a ReadingStore over a slice, or an error.
type readingList struct {
	rs  []vital.Reading
	err error
}

func (l readingList) ReadingsSince(_ context.Context, seq int64, limit int) ([]vital.Reading, error) {
	if l.err != nil {
		return nil, l.err
	}
	var out []vital.Reading
	for _, r := range l.rs {
		if r.Seq > seq && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func TestReadings(t *testing.T) {
	three := readingList{rs: []vital.Reading{
		{Seq: 1, Quantity: vital.Pulse, Value: 72}, {Seq: 2, Quantity: vital.Systolic, Value: 120}, {Seq: 3, Quantity: vital.Glucose, Value: 96},
	}}
	tests := []struct {
		name  string
		store readingList
		query string
		code  int
		seqs  []int64
	}{
		{"all", three, "", 200, []int64{1, 2, 3}},
		{"since and limit", three, "?since=1&limit=1", 200, []int64{2}},
		{"none yet", readingList{}, "", 200, []int64{}},
		{"bad since", three, "?since=-1", 400, nil},
		{"bad limit", three, "?limit=0", 400, nil},
		{"store fails", readingList{err: errors.New("database is locked at /var/lib/pillbox")}, "", 500, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			Readings{Store: tt.store, Logger: slog.New(slog.DiscardHandler)}.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/readings"+tt.query, nil))
			if w.Code != tt.code {
				t.Fatalf("GET /api/readings%s = %d %s, want %d", tt.query, w.Code, w.Body, tt.code)
			}
			if strings.Contains(w.Body.String(), "/var/lib") {
				t.Errorf("the answer %s shows the store's error", w.Body)
			}
			if tt.seqs == nil {
				return
			}
			var rs []vital.Reading
			if err := json.Unmarshal(w.Body.Bytes(), &rs); err != nil || rs == nil {
				t.Fatalf("body %s is not a JSON list: %v", w.Body, err)
			}
			got := []int64{}
			for _, r := range rs {
				got = append(got, r.Seq)
			}
			if !slices.Equal(got, tt.seqs) {
				t.Errorf("readings %v, want %v", got, tt.seqs)
			}
		})
	}
}
