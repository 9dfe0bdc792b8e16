// Package secret reads the one-line secret files the commands share (the
// local API token, the Twilio auth token): regular files only, bounded in
// size, returned trimmed with their permission bits so that each caller
// can refuse or warn about a file others may read.
package secret

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Read reads the secret in path, at most max bytes, and returns it without
// surrounding white space, with the file's permission bits.
func Read(path string, max int64) (string, fs.FileMode, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", 0, err
	}
	if !st.Mode().IsRegular() {
		return "", 0, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return "", 0, err
	}
	if int64(len(b)) > max {
		return "", 0, fmt.Errorf("%s is longer than %d bytes", path, max)
	}
	return strings.TrimSpace(string(b)), st.Mode().Perm(), nil
}

// OthersMay reports whether users outside the file's owner and group may
// read or write a file of mode perm.
func OthersMay(perm fs.FileMode) bool { return perm&0o007 != 0 }
