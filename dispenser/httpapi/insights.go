package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
)

// DefaultInsightDays is how many coming days GET /api/insights covers
// without ?days.
const DefaultInsightDays = 7

// Insights serves GET /api/insights?days=N (docs/api.md): what the
// dispenser learned of the patient, as report makes it for the coming N
// days (1 to maxDays; default DefaultInsightDays): the same JSON as
// `pillctl risk`. It shows PHI: like every /api/ route it sits behind
// Access.
func Insights(report func(ctx context.Context, days int) (any, error), maxDays int, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		days, err := insightDays(r.URL.Query().Get("days"), maxDays)
		if err != nil {
			WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		out, err := report(r.Context(), days)
		if err != nil {
			log.Error("api: insights", "err", err)
			WriteError(w, http.StatusInternalServerError, "cannot read the log")
			return
		}
		WriteJSON(w, http.StatusOK, out)
	})
}

// insightDays reads ?days: empty for the default, else a whole number
// from 1 to maxDays.
func insightDays(s string, maxDays int) (int, error) {
	if s == "" {
		return min(DefaultInsightDays, maxDays), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxDays || strconv.Itoa(n) != s { // one way to write each
		return 0, fmt.Errorf("days must be a whole number from 1 to %d", maxDays)
	}
	return n, nil
}
