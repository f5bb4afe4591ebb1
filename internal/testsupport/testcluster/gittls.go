package testcluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containerdriver/terraform-provider-containerdriver/internal/tooling/imagebuild"
)

// A git server over HTTPS, for passwords: the provider refuses a password over plain
// http://. Its certificate is issued by a CA made once per test process, which only the
// sidecar image of TrustingSidecarImage trusts, as a user with a private CA would bake
// it into the sidecar image.

var (
	testCAOnce sync.Once
	testCA     struct {
		pem    []byte
		server tls.Certificate
		err    error
	}
	trustingOnce sync.Once
	trustingRef  string
	trustingErr  error
)

// GitServerTLSWithPassword is GitServerWithPassword over HTTPS: an https:// URL base
// whose certificate TrustingSidecarImage's git-init accepts.
func GitServerTLSWithPassword(t testing.TB, root, user, password string) string {
	t.Helper()
	ip := NodeIP(t)
	testCAOnce.Do(func() { testCA.pem, testCA.server, testCA.err = makeTestCA(ip) })
	if testCA.err != nil {
		t.Fatalf("test CA: %v", testCA.err)
	}
	return serveGit(t, root, &tls.Config{Certificates: []tls.Certificate{testCA.server}, MinVersion: tls.VersionTLS12}, basicAuth(user, password))
}

// TrustingSidecarImage is SidecarImage with the test CA of GitServerTLSWithPassword as
// its only trusted root (/etc/ssl/certs/ca-certificates.crt, where Go looks first).
func TrustingSidecarImage(t testing.TB) string {
	t.Helper()
	RestConfig(t)
	ip := NodeIP(t)
	testCAOnce.Do(func() { testCA.pem, testCA.server, testCA.err = makeTestCA(ip) })
	if testCA.err != nil {
		t.Fatalf("test CA: %v", testCA.err)
	}
	trustingOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			trustingErr = err
			return
		}
		dir, err := os.MkdirTemp(workDir(), "sidecars-ca-")
		if err != nil {
			trustingErr = err
			return
		}
		if err := goBuild(root, dir+string(filepath.Separator), sidecarPackages...); err != nil {
			trustingErr = err
			return
		}
		spec := sidecarImageSpec(dir)
		spec.Files = append(spec.Files, imagebuild.File{Path: "/etc/ssl/certs/ca-certificates.crt", Content: testCA.pem, Mode: 0o644})
		var files []string
		for _, f := range spec.Files {
			if f.Source != "" {
				files = append(files, f.Source)
			}
		}
		sum, err := hashFiles(files...)
		if err != nil {
			trustingErr = err
			return
		}
		// The CA is new in each test process: so is the tag.
		trustingRef = fmt.Sprintf("%s/sidecars:test-ca-%s-%x", ImageRegistry, sum[:12], testCA.server.Leaf.SerialNumber)
		trustingErr = buildImage(trustingRef, spec)
	})
	if trustingErr != nil {
		t.Fatalf("sidecar image trusting the test CA: %v", trustingErr)
	}
	return trustingRef
}

// makeTestCA makes a CA and a server certificate for ip, valid for a day.
func makeTestCA(ip string) (caPEM []byte, server tls.Certificate, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, server, err
	}
	serial := func() *big.Int {
		n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
		return n
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: "containerdriver test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, server, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, server, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, server, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: ip},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, server, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, server, err
	}
	server = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), server, nil
}
