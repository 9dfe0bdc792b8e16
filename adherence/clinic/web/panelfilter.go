package web

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PanelFilter is what the panel's search form asks for, read from the
// query so that it works without a script and can be bookmarked: a part
// of the name, an adherence below a percentage, open alerts only.
type PanelFilter struct {
	Name   string  // case-insensitive part of the display name; "" for any
	Below  float64 // show adherence below this fraction; 0 for any
	Alerts bool    // only patients with open alerts
	// BelowText is Below as the form shows it ("80"), empty when unset.
	BelowText string
}

// maxSearch bounds the name search: display names are short.
const maxSearch = 100

// parsePanelFilter reads the panel's query: q (name), below (a whole
// percentage 1-100) and alerts ("1" or "on").
func parsePanelFilter(q url.Values) (PanelFilter, error) {
	var f PanelFilter
	name := strings.TrimSpace(q.Get("q"))
	if !utf8.ValidString(name) || len(name) > maxSearch {
		return f, fmt.Errorf("search: the name must be text of at most %d bytes", maxSearch)
	}
	f.Name = name
	if b := strings.TrimSpace(q.Get("below")); b != "" {
		n, err := strconv.Atoi(b)
		if err != nil || n < 1 || n > 100 {
			return f, errors.New("search: adherence below must be a whole percentage from 1 to 100")
		}
		f.Below, f.BelowText = float64(n)/100, strconv.Itoa(n)
	}
	switch q.Get("alerts") {
	case "", "0":
	case "1", "on":
		f.Alerts = true
	default:
		return f, errors.New("search: alerts must be 1 or 0")
	}
	return f, nil
}

// Active says whether the filter leaves anyone out.
func (f PanelFilter) Active() bool { return f.Name != "" || f.Below > 0 || f.Alerts }

// Keep says whether a panel row passes the filter. A patient without
// scheduled doses has no adherence, so is not below any threshold.
func (f PanelFilter) Keep(r PanelRow) bool {
	if f.Name != "" && !strings.Contains(strings.ToLower(r.Patient.DisplayName), strings.ToLower(f.Name)) {
		return false
	}
	if f.Below > 0 && (r.Stats.Scheduled == 0 || r.Stats.Taking >= f.Below) {
		return false
	}
	return !f.Alerts || r.Stats.OpenAlerts > 0
}
