package httpapi

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/pillbox/pillbox/hw/vital"
)

// ReadingStore is where the vital-sign readings are kept.
type ReadingStore interface {
	// ReadingsSince returns up to limit readings stored after seq, in order.
	ReadingsSince(ctx context.Context, seq int64, limit int) ([]vital.Reading, error)
}

// Readings serves GET /api/readings?since=SEQ&limit=N: the stored
// readings after SEQ, in order.
type Readings struct {
	Store  ReadingStore
	Logger *slog.Logger
}

func (h Readings) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	since, limit, ok := Page(w, r.URL.Query())
	if !ok {
		return
	}
	rs, err := h.Store.ReadingsSince(r.Context(), since, limit)
	if err != nil {
		h.Logger.Error("vitals: list readings", "err", err)
		WriteError(w, http.StatusInternalServerError, "could not read the stored readings")
		return
	}
	if rs == nil {
		rs = []vital.Reading{}
	}
	WriteJSON(w, http.StatusOK, rs)
}
