package adherence

import "database/sql"

// Pools returns the store's connection pools for packages that keep their
// own tables in this database (adherence/clinic): write is the single write
// connection, so their writes queue behind the event log's instead of
// failing with SQLITE_BUSY, and read is the query_only pool (the same pool
// for an in-memory store). They must not write to the event log's tables.
func (s *Store) Pools() (write, read *sql.DB) { return s.w, s.r }
