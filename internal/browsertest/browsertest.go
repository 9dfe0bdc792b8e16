// Package browsertest starts headless Chromium for browser tests (the sim
// panel's, the clinic's pages). Without Chromium a test is skipped,
// loudly, unless PILLBOX_REQUIRE_BROWSER=1 (CI sets it), where it fails:
// browser tests must never pass silently.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is where Debian's chromium package puts the browser.
const ChromiumPath = "/usr/bin/chromium"

// New starts headless Chromium with a fresh profile and returns a context
// for its first tab; both end with the test.
func New(t testing.TB) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		msg := fmt.Sprintf("browser test needs Chromium at %s (apt-get install chromium): %v", ChromiumPath, err)
		if os.Getenv("PILLBOX_REQUIRE_BROWSER") == "1" {
			t.Fatal(msg + " (PILLBOX_REQUIRE_BROWSER=1)")
		}
		t.Skip("SKIPPED, NOT PASSED: " + msg)
	}
	alloc, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	return ctx
}
