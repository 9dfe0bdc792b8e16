package fhirapi

import (
	"slices"
	"strings"
)

// SMART v2 system scopes: system/<Type or *>.<permissions>, the
// permissions a subset of c r u d s in that order. The API grants r
// (read) and s (search) only; a v1 scope's .read is taken as .rs.

// scope is one granted scope.
type scope struct {
	Type  string // a resource type or "*"
	Perms string // "r", "s" or "rs"
}

type scopes []scope

func (s scope) String() string { return "system/" + s.Type + "." + s.Perms }

// parseScope reads one scope string; ok is false for what the API does
// not know (user/, patient/, openid, unknown types).
func parseScope(s string) (scope, bool) {
	rest, ok := strings.CutPrefix(s, "system/")
	if !ok {
		return scope{}, false
	}
	typ, perms, ok := strings.Cut(rest, ".")
	if !ok || (typ != "*" && !servedType(typ)) {
		return scope{}, false
	}
	switch perms {
	case "read", "*":
		return scope{typ, "rs"}, true
	}
	// v2: a subset of "cruds", in order, with an optional ?query that
	// the API does not support (refused).
	if perms == "" || strings.Contains(perms, "?") || !isOrderedSubset(perms, "cruds") {
		return scope{}, false
	}
	var kept []byte
	for _, c := range []byte("rs") {
		if strings.IndexByte(perms, c) >= 0 {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return scope{}, false
	}
	return scope{typ, string(kept)}, true
}

func isOrderedSubset(s, of string) bool {
	i := 0
	for j := 0; j < len(s); j++ {
		k := strings.IndexByte(of[i:], s[j])
		if k < 0 {
			return false
		}
		i += k + 1
	}
	return true
}

func servedType(t string) bool {
	_, ok := defOf(t)
	return ok
}

// grantScopes returns the scopes of requested (space-separated) the API
// grants, each at most once, in the order asked.
func grantScopes(requested string) scopes {
	var out scopes
	for _, f := range strings.Fields(requested) {
		if s, ok := parseScope(f); ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (ss scopes) String() string {
	var parts []string
	for _, s := range ss {
		parts = append(parts, s.String())
	}
	return strings.Join(parts, " ")
}

// parseScopes reads a granted scope string back.
func parseScopes(s string) scopes { return grantScopes(s) }

// allows reports whether the scopes allow perm ('r' or 's') on typ.
func (ss scopes) allows(typ string, perm byte) bool {
	return slices.ContainsFunc(ss, func(s scope) bool {
		return (s.Type == "*" || s.Type == typ) && strings.IndexByte(s.Perms, perm) >= 0
	})
}
