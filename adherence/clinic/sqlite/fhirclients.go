package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
)

func (s *Store) CreateFHIRClient(ctx context.Context, c clinic.FHIRClient, e clinic.Entry) error {
	patients, err := json.Marshal(nonNil(c.Patients))
	if err != nil {
		return fail("create FHIR client", err)
	}
	return s.change(ctx, "create FHIR client", func(tx *sql.Tx) error {
		if c.PanelUserID != "" {
			if err := exists(ctx, tx, "clinic_users", c.PanelUserID); err != nil {
				return err
			}
		}
		for _, id := range c.Patients {
			if err := exists(ctx, tx, "clinic_patients", id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO clinic_fhir_clients(id, name, jwks, panel_user_id, patients, created, revoked)
VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, c.Name, string(c.JWKS), nullText(c.PanelUserID), string(patients), ms(c.Created), nullMS(c.Revoked))
		return err
	}, e)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const selectFHIRClient = `SELECT c.id, c.name, c.jwks, coalesce(c.panel_user_id, ''), c.patients, c.created, c.revoked `

func scanFHIRClient(sc scanner, more ...any) (clinic.FHIRClient, error) {
	var c clinic.FHIRClient
	var jwks, patients string
	var created int64
	var revoked sql.NullInt64
	if err := sc.Scan(append([]any{&c.ID, &c.Name, &jwks, &c.PanelUserID, &patients, &created, &revoked}, more...)...); err != nil {
		return c, err
	}
	c.JWKS, c.Created, c.Revoked = json.RawMessage(jwks), fromMS(created), fromNullMS(revoked)
	if err := json.Unmarshal([]byte(patients), &c.Patients); err != nil {
		return c, err
	}
	if len(c.Patients) == 0 {
		c.Patients = nil
	}
	return c, nil
}

func (s *Store) FHIRClients(ctx context.Context) ([]clinic.FHIRClient, error) {
	cs, err := list(ctx, s.r, func(sc scanner) (clinic.FHIRClient, error) { return scanFHIRClient(sc) },
		selectFHIRClient+`FROM clinic_fhir_clients c ORDER BY c.created, c.id`)
	return cs, fail("FHIR clients", err)
}

func (s *Store) FHIRClient(ctx context.Context, id string) (clinic.FHIRClient, error) {
	c, err := scanFHIRClient(s.r.QueryRowContext(ctx, selectFHIRClient+`FROM clinic_fhir_clients c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.FHIRClient{}, clinic.ErrNotFound
	}
	return c, fail("FHIR client", err)
}

func (s *Store) RevokeFHIRClient(ctx context.Context, id string, at time.Time, e clinic.Entry) error {
	return s.change(ctx, "revoke FHIR client", func(tx *sql.Tx) error {
		return mustAffect(tx.ExecContext(ctx, `UPDATE clinic_fhir_clients SET revoked = ? WHERE id = ? AND revoked IS NULL`, ms(at), id))
	}, e)
}

func (s *Store) IssueFHIRToken(ctx context.Context, clientID, jti string, jtiExpires time.Time, t clinic.FHIRToken, hash string, e clinic.Entry) error {
	return s.change(ctx, "issue FHIR token", func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "clinic_fhir_clients", clientID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clinic_fhir_jtis WHERE expires <= ?`, ms(t.Issued)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM clinic_fhir_tokens WHERE expires <= ?`, ms(t.Issued)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO clinic_fhir_jtis(client_id, jti, expires) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			clientID, jti, ms(jtiExpires))
		if err := mustAffect(res, err); errors.Is(err, clinic.ErrNotFound) {
			return clinic.ErrConflict
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO clinic_fhir_tokens(hash, client_id, scope, issued, expires) VALUES (?, ?, ?, ?, ?)`,
			hash, clientID, t.Scope, ms(t.Issued), ms(t.Expires))
		return err
	}, e)
}

func (s *Store) FHIRToken(ctx context.Context, hash string) (clinic.FHIRToken, clinic.FHIRClient, error) {
	var t clinic.FHIRToken
	var issued, expires int64
	c, err := scanFHIRClient(s.r.QueryRowContext(ctx, selectFHIRClient+`, t.client_id, t.scope, t.issued, t.expires
FROM clinic_fhir_tokens t JOIN clinic_fhir_clients c ON c.id = t.client_id WHERE t.hash = ?`, hash),
		&t.ClientID, &t.Scope, &issued, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return clinic.FHIRToken{}, clinic.FHIRClient{}, clinic.ErrNotFound
	}
	if err != nil {
		return clinic.FHIRToken{}, clinic.FHIRClient{}, fail("FHIR token", err)
	}
	t.Issued, t.Expires = fromMS(issued), fromMS(expires)
	return t, c, nil
}
