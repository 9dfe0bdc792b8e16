package fhirapi

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The client's side, for pillctl and the docs: the public JWKS of a
// private key to register, and a signed assertion for the token
// endpoint. A key's kid is its RFC 7638 thumbprint (SHA-256), so both
// name it the same way.

// ParsePrivateKeyPEM reads an EC P-384 or RSA (2048 bits or more)
// private key in PEM: SEC 1 ("EC PRIVATE KEY"), PKCS #1 ("RSA PRIVATE
// KEY") or PKCS #8 ("PRIVATE KEY"), as openssl writes them.
func ParsePrivateKeyPEM(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("fhirapi: key: no PEM block")
	}
	var key any
	var err error
	switch blk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("fhirapi: key: a %q PEM block is not a private key", blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("fhirapi: key: %w", err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P384() {
			return nil, errors.New("fhirapi: key: an EC key must be on P-384 (openssl: -name secp384r1)")
		}
		return k, nil
	case *rsa.PrivateKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("fhirapi: key: an RSA key must have at least 2048 bits")
		}
		return k, nil
	}
	return nil, errors.New("fhirapi: key: want an EC P-384 or RSA key")
}

func algOf(key crypto.Signer) jose.SignatureAlgorithm {
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		return jose.ES384
	}
	return jose.RS384
}

// KeyID is the kid of a key: its public key's JWK thumbprint.
func KeyID(key crypto.Signer) (string, error) {
	jwk := jose.JSONWebKey{Key: key.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("fhirapi: key: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PublicJWKS is the JWKS to register for key: its public key, with its
// kid, alg and use.
func PublicJWKS(key crypto.Signer) ([]byte, error) {
	kid, err := KeyID(key)
	if err != nil {
		return nil, err
	}
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: key.Public(), KeyID: kid, Algorithm: string(algOf(key)), Use: "sig"}}}
	return json.MarshalIndent(set, "", "  ")
}

// SignAssertion makes a client assertion for the token endpoint at
// tokenURL: iss = sub = clientID, aud = tokenURL, a random jti, exp life
// after now (at most MaxAssertionLife).
func SignAssertion(key crypto.Signer, clientID, tokenURL string, now time.Time, life time.Duration) (string, error) {
	if life <= 0 || life > MaxAssertionLife {
		return "", fmt.Errorf("fhirapi: assertion: life must be more than 0 and at most %s", MaxAssertionLife)
	}
	kid, err := KeyID(key)
	if err != nil {
		return "", err
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: algOf(key), Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		return "", fmt.Errorf("fhirapi: assertion: %w", err)
	}
	c := jwt.Claims{Issuer: clientID, Subject: clientID, Audience: jwt.Audience{tokenURL}, ID: rand.Text(),
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(life))}
	s, err := jwt.Signed(sig).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("fhirapi: assertion: %w", err)
	}
	return s, nil
}
