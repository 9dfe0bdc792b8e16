package main

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/postgres"
	"github.com/pillbox/pillbox/adherence/clinic/sqlite"
	"github.com/pillbox/pillbox/cmd/internal/clinicdb"
	"github.com/pillbox/pillbox/schedule"
)

// migrateClinic is `pillctl clinic migrate`: an SQLite clinic into a new
// PostgreSQL database.
func migrateClinic(cx *clinicCtx, db string) error {
	to := cx.fs.Lookup("to").Value.String()
	if !clinicdb.IsPostgres(to) {
		return errors.New("migrate: --to must be a postgres:// or postgresql:// URL")
	}
	if data := cx.fs.Lookup("data").Value.String(); data != "" {
		db = filepath.Join(data, "clinic.db")
	}
	if clinicdb.IsPostgres(db) {
		return errors.New("migrate: the source (--db or --data) is an SQLite clinic file, not a URL")
	}
	if _, err := os.Stat(db); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	// Opening it as the service would checks it and brings an older file's
	// schema to the one the copy expects.
	lite, err := sqlite.Open(cx.ctx, db)
	if err != nil {
		return err
	}
	if err := lite.Close(); err != nil {
		return err
	}
	uri := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(db) + "?mode=ro&_pragma=busy_timeout(5000)"
	src, err := sql.Open("sqlite", uri)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	copied, err := postgres.Import(cx.ctx, to, src)
	if err != nil {
		return fmt.Errorf("migrate to %s: %w", clinicdb.Redact(to), err)
	}
	var total int64
	for _, c := range copied {
		fmt.Fprintf(cx.stdout, "%-24s %d\n", c.Table, c.Rows)
		total += c.Rows
	}
	// The copy is on record in the log it copied.
	pg, err := postgres.Open(cx.ctx, to)
	if err != nil {
		return err
	}
	defer pg.Close()
	target := fmt.Sprintf("from %s: %d rows", db, total)
	if err := clinic.New(pg, schedule.NewRealClock()).Audit(cx.ctx, cx.actor, "clinic.migrate", "", target, "ok"); err != nil {
		return err
	}
	fmt.Fprintf(cx.stdout, "copied %d rows from %s to %s; every table's count verified\n", total, db, clinicdb.Redact(to))
	return nil
}
