package uplink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	good := Config{URL: "https://clinic.example.org", Device: "dv_1", TokenFile: "/etc/pillbox/device-token"}
	tests := []struct {
		name     string
		edit     func(c *Config)
		wantPath string // "" with wantMsg "" means no problem
		wantMsg  string
	}{
		{"good", func(c *Config) {}, "", ""},
		{"http to localhost", func(c *Config) { c.URL = "http://127.0.0.1:8090" }, "", ""},
		{"token from env", func(c *Config) { c.TokenFile, c.TokenEnv = "", "PILLBOX_DEVICE_TOKEN" }, "", ""},
		{"no url", func(c *Config) { c.URL = "" }, "url", "no url"},
		{"http to the network", func(c *Config) { c.URL = "http://clinic.example.org" }, "url", "must use https"},
		{"relative url", func(c *Config) { c.URL = "clinic.example.org" }, "url", "absolute"},
		{"url with a query", func(c *Config) { c.URL = "https://clinic.example.org/?token=x" }, "url", "query"},
		{"no device", func(c *Config) { c.Device = "" }, "device", "no device id"},
		{"bad device", func(c *Config) { c.Device = "dv 1" }, "device", "device id"},
		{"no token source", func(c *Config) { c.TokenFile = "" }, "", "no device token source"},
		{"two token sources", func(c *Config) { c.TokenEnv = "X" }, "token_env", "two device token sources"},
		{"interval too short", func(c *Config) { c.Interval = time.Second }, "interval", "out of range"},
		{"batch too big", func(c *Config) { c.Batch = 5000 }, "batch", "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			probs := c.Validate()
			if tc.wantMsg == "" {
				if len(probs) != 0 {
					t.Errorf("Validate() = %v, want no problem", probs)
				}
				return
			}
			if len(probs) != 1 || probs[0].Path != tc.wantPath || !strings.Contains(probs[0].Msg, tc.wantMsg) {
				t.Errorf("Validate() = %v, want one problem at %q saying %q", probs, tc.wantPath, tc.wantMsg)
			}
		})
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, strings.ReplaceAll(content, "\n", "_")+".tok")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("PB_TEST_TOKEN", "pbd_fromenv")
	tests := []struct {
		name    string
		c       Config
		want    string
		wantErr string
	}{
		{"file with newline", Config{TokenFile: file("pbd_abc\n")}, "pbd_abc", ""},
		{"env", Config{TokenEnv: "PB_TEST_TOKEN"}, "pbd_fromenv", ""},
		{"unset env", Config{TokenEnv: "PB_TEST_UNSET"}, "", "is not set"},
		{"missing file", Config{TokenFile: filepath.Join(dir, "none")}, "", "no such file"},
		{"two words", Config{TokenFile: file("pbd_a pbd_b")}, "", "more than one word"},
		{"empty", Config{TokenFile: file("\n")}, "", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.c.ReadToken()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "pbd_") {
					t.Errorf("ReadToken() = %q, %v; want an error saying %q without the token", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ReadToken() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestCheckTokenFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		mode os.FileMode
		want string // "" for no problem
	}{
		{"owner only", 0o600, ""},
		{"owner read only", 0o400, ""},
		{"group can read", 0o640, "can be read by others (mode 0640)"},
		{"anyone can read", 0o644, "can be read by others (mode 0644)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, tc.name)
			if err := os.WriteFile(p, []byte("pbd_secret\n"), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil { // past the umask
				t.Fatal(err)
			}
			err := (&Config{TokenFile: p}).CheckTokenFile()
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "pbd_")) {
				t.Errorf("CheckTokenFile(mode %04o) = %v, want %q", tc.mode, err, tc.want)
			}
		})
	}
	if err := (&Config{TokenEnv: "X"}).CheckTokenFile(); err != nil {
		t.Errorf("CheckTokenFile(token from the environment) = %v, want nil", err)
	}
}
