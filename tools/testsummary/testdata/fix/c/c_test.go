// Package c passes, with a skip for want of another tool.
package c

import "testing"

func TestOK(t *testing.T) {}

func TestNeedsOther(t *testing.T) { t.Skip("SKIPPED: gizmo not found (apt-get install gizmo)") }
