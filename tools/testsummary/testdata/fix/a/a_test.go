// Package a is testsummary's fixture: one test of each outcome.
package a

import "testing"

func TestOK(t *testing.T) { t.Log("only under -v") }

func TestFail(t *testing.T) {
	t.Log("context of the failure")
	t.Run("sub", func(t *testing.T) { t.Error("boom") })
}

func TestNeedsTool(t *testing.T) {
	t.Skip("SKIPPED, NOT PASSED: needs frobnicator (apt-get install frobnicator): not found")
}

func TestNeedsToolToo(t *testing.T) {
	t.Run("case", func(t *testing.T) {
		t.Skip("SKIPPED, NOT PASSED: needs frobnicator (apt-get install frobnicator): not found")
	})
}

func TestShort(t *testing.T) { t.Skip("not in -short") }
