//go:build !linux

package schedule

import "time"

// KernelNTPSynced reports false off Linux: the daemon runs on Linux, and
// elsewhere (a developer's laptop in sim mode) another rule must vouch.
func KernelNTPSynced() (bool, error) { return false, nil }

// ReadRTC reports no hardware clock off Linux.
func ReadRTC() (time.Time, bool, error) { return time.Time{}, false, nil }
