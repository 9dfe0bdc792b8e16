package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pillbox/pillbox/adherence/clinic"
)

func (s *Store) CreateFHIRClient(ctx context.Context, c clinic.FHIRClient, e clinic.Entry) error {
	patients := c.Patients
	if patients == nil {
		patients = []string{}
	}
	pj, err := json.Marshal(patients)
	if err != nil {
		return fail("create FHIR client", err)
	}
	return s.change(ctx, "create FHIR client", func(tx pgx.Tx) error {
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
		_, err := tx.Exec(ctx, `INSERT INTO clinic_fhir_clients(id, name, jwks, panel_user_id, patients, created, revoked)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.ID, c.Name, string(c.JWKS), nullText(c.PanelUserID), string(pj), ms(c.Created), nullMS(c.Revoked))
		return err
	}, e)
}

const selectFHIRClient = `SELECT c.id, c.name, c.jwks, coalesce(c.panel_user_id, ''), c.patients, c.created, c.revoked `

func scanFHIRClient(sc pgx.Row, more ...any) (clinic.FHIRClient, error) {
	var c clinic.FHIRClient
	var jwks, patients string
	var created int64
	var revoked *int64
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
	cs, err := list(ctx, s.pool, func(sc pgx.Row) (clinic.FHIRClient, error) { return scanFHIRClient(sc) },
		selectFHIRClient+`FROM clinic_fhir_clients c ORDER BY c.created, c.id`)
	return cs, fail("FHIR clients", err)
}

func (s *Store) FHIRClient(ctx context.Context, id string) (clinic.FHIRClient, error) {
	c, err := one(scanFHIRClient(s.pool.QueryRow(ctx, selectFHIRClient+`FROM clinic_fhir_clients c WHERE c.id = $1`, id)))
	return c, fail("FHIR client", err)
}

func (s *Store) RevokeFHIRClient(ctx context.Context, id string, at time.Time, e clinic.Entry) error {
	return s.change(ctx, "revoke FHIR client", func(tx pgx.Tx) error {
		return mustAffect(tx.Exec(ctx, `UPDATE clinic_fhir_clients SET revoked = $1 WHERE id = $2 AND revoked IS NULL`, ms(at), id))
	}, e)
}

func (s *Store) IssueFHIRToken(ctx context.Context, clientID, jti string, jtiExpires time.Time, t clinic.FHIRToken, hash string, e clinic.Entry) error {
	return s.change(ctx, "issue FHIR token", func(tx pgx.Tx) error {
		if err := exists(ctx, tx, "clinic_fhir_clients", clientID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM clinic_fhir_jtis WHERE expires <= $1`, ms(t.Issued)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM clinic_fhir_tokens WHERE expires <= $1`, ms(t.Issued)); err != nil {
			return err
		}
		// ON CONFLICT DO NOTHING: a replay, or the same assertion sent to
		// two processes at once, inserts nothing (the second waits for the
		// first's row) and is refused without aborting the transaction.
		err := mustAffect(tx.Exec(ctx, `INSERT INTO clinic_fhir_jtis(client_id, jti, expires) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			clientID, jti, ms(jtiExpires)))
		if errors.Is(err, clinic.ErrNotFound) {
			return clinic.ErrConflict
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO clinic_fhir_tokens(hash, client_id, scope, issued, expires) VALUES ($1, $2, $3, $4, $5)`,
			hash, clientID, t.Scope, ms(t.Issued), ms(t.Expires))
		return err
	}, e)
}

func (s *Store) FHIRToken(ctx context.Context, hash string) (clinic.FHIRToken, clinic.FHIRClient, error) {
	var t clinic.FHIRToken
	var issued, expires int64
	c, err := scanFHIRClient(s.pool.QueryRow(ctx, selectFHIRClient+`, t.client_id, t.scope, t.issued, t.expires
FROM clinic_fhir_tokens t JOIN clinic_fhir_clients c ON c.id = t.client_id WHERE t.hash = $1`, hash),
		&t.ClientID, &t.Scope, &issued, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return clinic.FHIRToken{}, clinic.FHIRClient{}, clinic.ErrNotFound
	}
	if err != nil {
		return clinic.FHIRToken{}, clinic.FHIRClient{}, fail("FHIR token", err)
	}
	t.Issued, t.Expires = fromMS(issued), fromMS(expires)
	return t, c, nil
}
