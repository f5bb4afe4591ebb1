package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

// testCertAndKey returns a self-signed certificate and its key, PEM-encoded.
func testCertAndKey(t *testing.T) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func validateProvider(t *testing.T, config map[string]any) []*tfprotov6.Diagnostic {
	t.Helper()
	ctx := context.Background()
	srv := providerserver.NewProtocol6(New("test")())()
	schemas, err := srv.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schemas.Provider.ValueType()
	dv, err := tfprotov6.NewDynamicValue(typ, configValue(t, typ, config))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.ValidateProviderConfig(ctx, &tfprotov6.ValidateProviderConfigRequest{Config: &dv})
	if err != nil {
		t.Fatal(err)
	}
	return resp.Diagnostics
}

// TestProvider_ValidateConnection: known malformed connection settings fail at plan time
// on their attribute, without quoting sensitive values; good ones and unknown ones pass.
func TestProvider_ValidateConnection(t *testing.T) {
	cert, key := testCertAndKey(t)
	otherCert, _ := testCertAndKey(t)
	secretish := "-----BEGIN CERTIFICATE-----\nc2VjcmV0LWJ5dGVz\n-----END CERTIFICATE-----\n"
	for _, tt := range []struct {
		name    string
		config  map[string]any
		path    *tftypes.AttributePath // nil: no error expected
		summary string
		want    string
	}{
		{"good settings", map[string]any{"host": "https://10.0.0.1:6443", "cluster_ca_certificate": cert,
			"client_certificate": cert, "client_key": key, "proxy_url": "socks5://127.0.0.1:1080"}, nil, "", ""},
		{"host without scheme, as client-go takes it", map[string]any{"host": "10.0.0.1:6443"}, nil, "", ""},
		{"unknown host", map[string]any{"host": tftypes.NewValue(tftypes.String, tftypes.UnknownValue)}, nil, "", ""},
		{"host with another scheme", map[string]any{"host": "ftp://10.0.0.1"}, protoPath("host"), "Invalid Host", `the scheme "ftp" is not http or https`},
		{"host without a name", map[string]any{"host": "https://"}, protoPath("host"), "Invalid Host", "host: it has no host name"},
		{"host not a URL", map[string]any{"host": "https://a b:6443"}, protoPath("host"), "Invalid Host", "https://HOST:PORT"},
		{"proxy scheme", map[string]any{"proxy_url": "ftp://proxy:21"}, protoPath("proxy_url"), "Invalid Proxy URL", `proxy_url: the scheme "ftp" is not http, https or socks5`},
		{"proxy without host", map[string]any{"proxy_url": "proxy.example:3128"}, protoPath("proxy_url"), "Invalid Proxy URL", "proxy_url: "},
		{"CA not PEM", map[string]any{"cluster_ca_certificate": "LS0tLS1CRUdJTi..."}, protoPath("cluster_ca_certificate"), "Invalid PEM Certificate", "cluster_ca_certificate: no PEM block found"},
		{"CA PEM but no certificate", map[string]any{"cluster_ca_certificate": secretish}, protoPath("cluster_ca_certificate"), "Invalid PEM Certificate", "PEM block 1 is not a valid certificate"},
		{"client certificate is a key", map[string]any{"client_certificate": key}, protoPath("client_certificate"), "Invalid PEM Certificate", `is a "PRIVATE KEY", not a CERTIFICATE`},
		{"client key is a certificate", map[string]any{"client_key": cert}, protoPath("client_key"), "Invalid PEM Key", "client_key: no PRIVATE KEY block found"},
		{"key of another certificate", map[string]any{"client_certificate": otherCert, "client_key": key}, protoPath("client_key"), "Mismatched Client Certificate And Key", "does not belong to client_certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ds := validateProvider(t, tt.config)
			if tt.path == nil {
				for _, d := range ds {
					t.Errorf("unexpected diagnostic: %s", diagString(d))
				}
				return
			}
			if len(ds) != 1 {
				var all []string
				for _, d := range ds {
					all = append(all, diagString(d))
				}
				t.Fatalf("want one diagnostic, got %d:\n%s", len(ds), strings.Join(all, "\n"))
			}
			d := ds[0]
			if d.Attribute == nil || !d.Attribute.Equal(tt.path) || d.Summary != tt.summary || !strings.Contains(d.Detail, tt.want) {
				t.Errorf("got %s\nwant path %s, summary %q, detail with %q", diagString(d), tt.path, tt.summary, tt.want)
			}
			if strings.Contains(d.Detail, "c2VjcmV0") || strings.Contains(d.Detail, "LS0tLS1CRUdJTi") {
				t.Errorf("the detail quotes the sensitive value: %s", d.Detail)
			}
		})
	}
}
