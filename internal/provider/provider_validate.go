package provider

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// validateConnection checks the known connection settings at plan time, so a malformed
// host, PEM block or proxy URL is reported on its attribute instead of at the first API
// call. Values are never quoted: the PEM fields are sensitive.
func validateConnection(m *providerModel, diags *diag.Diagnostics) {
	known := func(v types.String) (string, bool) {
		if v.IsNull() || v.IsUnknown() {
			return "", false
		}
		return v.ValueString(), true
	}
	if v, ok := known(m.Host); ok {
		if err := checkHost(v); err != nil {
			diags.AddAttributeError(path.Root("host"), "Invalid Host",
				fmt.Sprintf("host: %v. Give the API server's address as https://HOST:PORT, for example \"https://10.0.0.1:6443\".", err))
		}
	}
	if v, ok := known(m.ProxyURL); ok {
		if err := checkProxyURL(v); err != nil {
			diags.AddAttributeError(path.Root("proxy_url"), "Invalid Proxy URL",
				fmt.Sprintf("proxy_url: %v. Give a URL such as \"http://proxy.example:3128\" or \"socks5://127.0.0.1:1080\".", err))
		}
	}
	certs := []struct {
		name string
		v    types.String
	}{{"cluster_ca_certificate", m.ClusterCACertificate}, {"client_certificate", m.ClientCertificate}}
	certOK := true
	for _, c := range certs {
		if v, ok := known(c.v); ok {
			if err := checkCertificatesPEM(v); err != nil {
				certOK = certOK && c.name != "client_certificate"
				diags.AddAttributeError(path.Root(c.name), "Invalid PEM Certificate",
					fmt.Sprintf("%s: %v. It must hold PEM-encoded certificates (-----BEGIN CERTIFICATE-----); "+
						"from a kubeconfig's base64 *-data field, decode it with base64decode().", c.name, err))
			}
		}
	}
	key, keyKnown := known(m.ClientKey)
	if keyKnown {
		if err := checkKeyPEM(key); err != nil {
			keyKnown = false
			diags.AddAttributeError(path.Root("client_key"), "Invalid PEM Key",
				fmt.Sprintf("client_key: %v. It must hold a PEM-encoded private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY); "+
					"from a kubeconfig's base64 client-key-data, decode it with base64decode().", err))
		}
	}
	if cert, ok := known(m.ClientCertificate); ok && certOK && keyKnown {
		if _, err := tls.X509KeyPair([]byte(cert), []byte(key)); err != nil {
			diags.AddAttributeError(path.Root("client_key"), "Mismatched Client Certificate And Key",
				"client_key: it does not belong to client_certificate (or one of them cannot be used): "+err.Error())
		}
	}
}

// checkHost accepts what client-go accepts as a server: an http(s) URL, or HOST[:PORT]
// (https is implied).
func checkHost(v string) error {
	if strings.TrimSpace(v) == "" {
		return errors.New("it is empty")
	}
	raw := v
	if !strings.Contains(v, "://") {
		raw = "https://" + v
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return errors.New("it is not a URL")
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("the scheme %q is not http or https", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return errors.New("it has no host name")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("it must not have a query or fragment")
	case u.User != nil:
		return errors.New("it must not carry credentials (use token, client_certificate or exec)")
	}
	return nil
}

func checkProxyURL(v string) error {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return errors.New("it is not a URL")
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5":
		return fmt.Errorf("the scheme %q is not http, https or socks5", u.Scheme)
	case u.Hostname() == "":
		return errors.New("it has no host name")
	}
	return nil
}

// pemBlocks decodes every PEM block of s; text around the blocks is allowed, as
// crypto/tls allows it.
func pemBlocks(s string) []*pem.Block {
	var blocks []*pem.Block
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return blocks
		}
		blocks = append(blocks, b)
	}
}

func checkCertificatesPEM(s string) error {
	blocks := pemBlocks(s)
	if len(blocks) == 0 {
		return errors.New("no PEM block found")
	}
	for i, b := range blocks {
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("PEM block %d is a %q, not a CERTIFICATE", i+1, b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("PEM block %d is not a valid certificate", i+1)
		}
	}
	return nil
}

func checkKeyPEM(s string) error {
	blocks := pemBlocks(s)
	if len(blocks) == 0 {
		return errors.New("no PEM block found")
	}
	for _, b := range blocks {
		if b.Type == "PRIVATE KEY" || strings.HasSuffix(b.Type, " PRIVATE KEY") {
			return nil
		}
	}
	return errors.New("no PRIVATE KEY block found")
}
