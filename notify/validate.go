package notify

import (
	"fmt"
	"strings"

	"github.com/pillbox/pillbox/internal/i18n"
	"github.com/pillbox/pillbox/internal/problem"
)

// Contact roles.
const (
	RolePatient   = "patient"
	RoleCaregiver = "caregiver"
)

// ValidateContacts checks the `contacts:` list. Paths are relative to the
// list ("[1].phone"). Messages do not repeat phone numbers, which are
// personal data and may end up in a log; only a suggested fix does.
func ValidateContacts(cs []Contact) problem.List {
	var l problem.List
	caregivers := 0
	seen := map[string]int{}
	for i, c := range cs {
		at := func(field string) string { return problem.Join(problem.Index("", i), field) }
		if strings.TrimSpace(c.Name) == "" {
			l.Add(problem.Index("", i), "add name: as messages should address them, e.g. name: Ana",
				"contact has no name")
		}

		phone := c.Phone
		switch {
		case c.Phone == "":
			l.Add(problem.Index("", i), `add phone: in E.164 form, e.g. phone: "+15555550123"`,
				"contact has no phone number")
		case !IsE164(c.Phone):
			fix := `write it in E.164 form: "+", the country code, then the number, e.g. "+15555550123"`
			if s := suggestE164(c.Phone); s != "" {
				fix = fmt.Sprintf("write phone: %q", s)
				phone = s
			}
			l.Add(at("phone"), fix, "phone number is not in E.164 form")
		}
		if phone != "" {
			if j, dup := seen[phone]; dup {
				l.Add(at("phone"), "give each contact their own number, or remove the duplicate",
					"same phone number as contacts[%d]", j)
			} else {
				seen[phone] = i
			}
		}

		if c.Language != "" {
			if err := i18n.Validate(c.Language); err != nil {
				l.Add(at("language"), "write a supported tag, e.g. language: es", "%v", err)
			}
		}

		switch role := strings.ToLower(strings.TrimSpace(c.Role)); {
		case c.Role == RoleCaregiver:
			caregivers++
		case c.Role == RolePatient:
		case role == RoleCaregiver || role == RolePatient:
			l.Add(at("role"), "use role: "+role, "role %q must be lowercase", c.Role)
		case c.Role == "":
			l.Add(problem.Index("", i), "add role: caregiver or role: patient", "contact has no role")
		default:
			l.Add(at("role"), "use role: caregiver (alerts escalate to caregivers in list order) or role: patient",
				"unknown role %q", c.Role)
		}
	}
	if caregivers == 0 {
		l.Add("", "add a contact with role: caregiver and an SMS-capable phone",
			"no caregiver: a missed dose would reach nobody")
	}
	return l
}

// IsE164 reports whether s is an E.164 phone number: "+", then 8 to 15
// digits, the first not 0.
func IsE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// suggestE164 returns the E.164 form of a number written with spaces,
// punctuation or a 00 prefix, or of a ten-digit North American number such
// as "(555) 555-0123"; "" when it cannot tell.
func suggestE164(s string) string {
	s = strings.TrimSpace(s)
	plus := strings.HasPrefix(s, "+")
	var digits strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits.WriteRune(c)
		case strings.ContainsRune(" -.()/+", c):
		default:
			return "" // letters or other marks: not a number we can fix
		}
	}
	d := digits.String()
	var cand string
	switch {
	case plus:
		cand = "+" + d
	case strings.HasPrefix(d, "00"):
		cand = "+" + d[2:]
	case len(d) == 10 && d[0] >= '2':
		cand = "+1" + d
	case len(d) == 11 && d[0] == '1':
		cand = "+" + d
	}
	if IsE164(cand) {
		return cand
	}
	return ""
}
