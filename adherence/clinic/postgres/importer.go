package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// table is one of the clinic's tables as Import copies it: its columns
// (the same names in both backends), which of them SQLite keeps as
// integers and PostgreSQL as booleans, and its identity column, if any.
type table struct {
	name     string
	cols     []string
	bools    []string
	identity string
}

// tables are the clinic's tables, each after those it references.
var tables = []table{
	{name: "clinic_patients", cols: []string{"id", "display_name", "first_name", "created"}},
	{name: "clinic_users", cols: []string{"id", "username", "display_name", "role", "password_hash", "disabled", "created"}, bools: []string{"disabled"}},
	{name: "clinic_devices", cols: []string{"id", "patient_id", "label", "created", "disabled", "last_seen", "silent_since", "heartbeat",
		"clock_offset", "clock_suspect", "clock_note", "software"}, bools: []string{"disabled"}},
	{name: "clinic_caregivers", cols: []string{"id", "patient_id", "name", "phone"}, identity: "id"},
	{name: "clinic_panels", cols: []string{"user_id", "patient_id"}},
	{name: "clinic_panel_requests", cols: []string{"user_id", "patient_id", "requested_at"}},
	{name: "clinic_tokens", cols: []string{"id", "hash", "kind", "user_id", "device_id", "label", "created", "expires", "revoked"}},
	{name: "clinic_sessions", cols: []string{"id_hash", "user_id", "csrf", "created", "last_seen"}},
	{name: "clinic_audit", cols: []string{"seq", "time", "actor", "action", "patient_id", "target", "remote", "outcome"}, identity: "seq"},
	{name: "clinic_streams", cols: []string{"device_id", "log_id", "acked_seq", "acked_reading_seq"}},
	{name: "clinic_events", cols: []string{"device_id", "log_id", "seq", "id", "patient_id", "time", "kind", "dose_id", "scheduled",
		"medication", "compartment", "detail", "received", "clock"}},
	{name: "clinic_readings", cols: []string{"device_id", "log_id", "seq", "id", "patient_id", "time", "device_time", "quantity", "value",
		"unit", "absent", "extra", "received"}, bools: []string{"device_time"}},
	{name: "clinic_set_aside", cols: []string{"id", "device_id", "log_id", "patient_id", "what", "seq", "item_id", "reason", "raw", "received"},
		identity: "id"},
	{name: "clinic_false_misses", cols: []string{"patient_id", "dose_id", "reason", "source", "marked_by", "marked_at"}},
	{name: "clinic_login_failures", cols: []string{"key", "failures", "last_failure", "until"}},
	{name: "clinic_sms", cols: []string{"id", "created", "patient_id", "device_id", "reason", "to_phone", "body", "attempts", "next_try",
		"sent", "failed", "last_error"}, identity: "id"},
}

// Copied is how many rows Import copied, by table, in copy order.
type Copied []struct {
	Table string
	Rows  int64
}

// Import copies every row of the clinic's tables from src (an SQLite
// clinic database at the SQLite backend's latest schema, which has the same
// tables and columns) into the PostgreSQL database connString names,
// migrating it first. It refuses a target that holds any clinic row. The
// copy is one transaction on the target, which holds every clinic table
// locked while it runs, reads src in one read transaction, checks each
// table's count against the source's before it commits and moves the
// identity columns past the copied values; a failure leaves the target as
// it was.
func Import(ctx context.Context, connString string, src *sql.DB) (Copied, error) {
	s, err := Open(ctx, connString)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	stx, err := src.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("clinic/postgres: import: read the source: %w", err)
	}
	defer stx.Rollback()
	var copied Copied
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		copied = nil
		names := make([]string, len(tables))
		for i, t := range tables {
			names[i] = t.name
		}
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(names, ", ")+` IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		for _, t := range tables {
			var any bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t.name+`)`).Scan(&any); err != nil {
				return err
			}
			if any {
				return fmt.Errorf("the target is not empty (%s has rows): pillctl clinic migrate copies into a new database only", t.name)
			}
		}
		for _, t := range tables {
			n, err := copyTable(ctx, stx, tx, t)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			copied = append(copied, struct {
				Table string
				Rows  int64
			}{t.name, n})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("clinic/postgres: import: %w", err)
	}
	return copied, nil
}

// copyTable copies one table with COPY and checks the count.
func copyTable(ctx context.Context, src *sql.Tx, dst pgx.Tx, t table) (int64, error) {
	var want int64
	if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+t.name).Scan(&want); err != nil {
		return 0, fmt.Errorf("count the source: %w", err)
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(t.cols, ", ")+` FROM `+t.name)
	if err != nil {
		return 0, fmt.Errorf("read the source: %w", err)
	}
	defer rows.Close()
	var bools []int
	for i, c := range t.cols {
		if slices.Contains(t.bools, c) {
			bools = append(bools, i)
		}
	}
	vals := make([]any, len(t.cols))
	ptrs := make([]any, len(t.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n, err := dst.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, pgx.CopyFromFunc(func() ([]any, error) {
		if !rows.Next() {
			return nil, rows.Err()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for _, i := range bools {
			if v, ok := vals[i].(int64); ok {
				vals[i] = v != 0
			}
		}
		return vals, nil
	}))
	if err != nil {
		return 0, err
	}
	var got int64
	if err := dst.QueryRow(ctx, `SELECT count(*) FROM `+t.name).Scan(&got); err != nil {
		return 0, err
	}
	if n != want || got != want {
		return 0, fmt.Errorf("copied %d rows (the table holds %d), the source has %d", n, got, want)
	}
	if t.identity != "" {
		// The next row the service adds numbers on from the copied ones.
		if _, err := dst.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(`+t.identity+`) FROM `+t.name+`), 0) + 1, false)`,
			t.name, t.identity); err != nil {
			return 0, err
		}
	}
	return n, nil
}
