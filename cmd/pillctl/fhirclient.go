package main

import (
	"crypto"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pillbox/pillbox/adherence/clinic"
	"github.com/pillbox/pillbox/adherence/clinic/fhirapi"
)

// fhirClientSubs are `pillctl clinic fhir-client ...`: the FHIR API's
// clients (SMART Backend Services), and the client's side of getting a
// token (its JWKS, a signed assertion) for trying the API with curl.
func fhirClientSubs() []clinicSub {
	return []clinicSub{
		{words: "fhir-client add", help: "register a FHIR API client with its public keys (--jwks-file) for one panel (--panel USERNAME) or patients (--patient, repeated); prints the client id and its Group id",
			flags: func(fs *flag.FlagSet) {
				fs.String("name", "", "the client's `NAME` (e.g. the EHR's)")
				fs.String("jwks-file", "", "the client's public keys, a JWKS `FILE` (pillctl clinic fhir-client jwks makes one)")
				fs.String("panel", "", "the client reads this user's panel (`USERNAME`), as it is at each request")
				fs.Var(&listFlag{}, "patient", "the client reads this patient (`ID`; repeat for several)")
			},
			run: func(cx *clinicCtx) error {
				name, file, panel := cx.fs.Lookup("name").Value.String(), cx.fs.Lookup("jwks-file").Value.String(), cx.fs.Lookup("panel").Value.String()
				if name == "" || file == "" {
					return errors.New("--name and --jwks-file are required")
				}
				jwks, err := os.ReadFile(file)
				if err != nil {
					return err
				}
				if _, err := fhirapi.ParseJWKS(jwks); err != nil {
					return err
				}
				patients := *cx.fs.Lookup("patient").Value.(*listFlag)
				c, err := cx.store.AddFHIRClient(cx.ctx, cx.actor, name, jwks, panel, patients)
				if err != nil {
					return err
				}
				fmt.Fprintf(cx.stdout, "%s\ngroup: %s\n", c.ID, fhirapi.GroupID(c))
				return nil
			}},
		{words: "fhir-client list", help: "list the FHIR API clients",
			run: func(cx *clinicCtx) error {
				cs, err := cx.store.FHIRClients(cx.ctx)
				if err != nil {
					return err
				}
				return table(cx.stdout, "ID\tNAME\tREADS\tGROUP\tCREATED\tREVOKED", cs, func(c clinic.FHIRClient) string {
					reads := "panel of " + c.PanelUserID
					if c.PanelUserID == "" {
						reads = strings.Join(c.Patients, ",")
					}
					return fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", c.ID, c.Name, reads, fhirapi.GroupID(c), when(c.Created), when(c.Revoked))
				})
			}},
		{words: "fhir-client revoke", args: "CLIENT", nargs: 1, help: "revoke a FHIR API client: its access tokens stop working at once",
			run: func(cx *clinicCtx) error { return cx.store.RevokeFHIRClient(cx.ctx, cx.actor, cx.args[0]) }},
		{words: "fhir-client jwks", args: "KEYFILE", nargs: 1, noDB: true,
			help: "print the public JWKS of a PEM private key (EC P-384 or RSA), to register with fhir-client add",
			run: func(cx *clinicCtx) error {
				key, err := readKey(cx.args[0])
				if err != nil {
					return err
				}
				b, err := fhirapi.PublicJWKS(key)
				if err != nil {
					return err
				}
				fmt.Fprintf(cx.stdout, "%s\n", b)
				return nil
			}},
		{words: "fhir-client assertion", args: "KEYFILE", nargs: 1, noDB: true,
			help: "print a client assertion (a JWT signed with the key, valid 5 minutes) for the token endpoint (--client ID --token-url URL)",
			flags: func(fs *flag.FlagSet) {
				fs.String("client", "", "the client `ID` (fhir-client add printed it)")
				fs.String("token-url", "", "the token endpoint's `URL`, e.g. https://clinic.example.org/fhir/auth/token")
			},
			run: func(cx *clinicCtx) error {
				client, url := cx.fs.Lookup("client").Value.String(), cx.fs.Lookup("token-url").Value.String()
				if client == "" || url == "" {
					return errors.New("--client and --token-url are required")
				}
				key, err := readKey(cx.args[0])
				if err != nil {
					return err
				}
				a, err := fhirapi.SignAssertion(key, client, url, time.Now(), fhirapi.MaxAssertionLife)
				if err != nil {
					return err
				}
				fmt.Fprintln(cx.stdout, a)
				return nil
			}},
	}
}

func readKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return fhirapi.ParsePrivateKeyPEM(b)
}

// listFlag collects a repeated flag's values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}
