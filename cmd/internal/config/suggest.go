package config

import (
	"github.com/pillbox/pillbox/internal/textdist"
	"slices"
	"strings"
)

// nearest returns the candidate closest to s when it is close enough to be
// what was meant (a typo, another case, '-' for '_'), else "".
func nearest(s string, cands []string) string {
	best, bestD := "", -1
	for _, c := range cands {
		d := textdist.Levenshtein(fold(s), fold(c))
		if bestD < 0 || d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(2, len(s)/4) || bestD >= len(s) {
		return ""
	}
	return best
}

// fold drops the differences that are never meaningful in a key or an id.
func fold(s string) string {
	return strings.NewReplacer("_", "", "-", "", " ", "").Replace(strings.ToLower(s))
}

func sortedStrings(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
