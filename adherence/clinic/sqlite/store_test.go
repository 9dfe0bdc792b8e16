package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/storetest"
)

// TestConformance runs the store suite on an in-memory database (a
// second Store value shares its one connection) and on a file (a second
// Store opens the file again, as a second adherenced would).
func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		storetest.Run(t, storetest.Backend{
			Open: func(t *testing.T) clinic.Store {
				s, err := OpenMemory(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Again: func(t *testing.T, s clinic.Store) clinic.Store { return s.(*Store).share() },
		})
	})
	t.Run("file", func(t *testing.T) {
		paths := map[clinic.Store]string{}
		open := func(t *testing.T, path string) clinic.Store {
			s, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			paths[s] = path
			return s
		}
		storetest.Run(t, storetest.Backend{
			Open:  func(t *testing.T) clinic.Store { return open(t, filepath.Join(t.TempDir(), "clinic.db")) },
			Again: func(t *testing.T, s clinic.Store) clinic.Store { return open(t, paths[s]) },
		})
	})
}
