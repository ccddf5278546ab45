package rpc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/rejoinhq/rejoin/structs"
)

// testCA issues certificates for TLS tests.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	must.NoError(t, err)
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for 127.0.0.1 with usage u.
func (ca *testCA) issue(t *testing.T, serial int64, u x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "rejoin"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{u},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	must.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	must.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestTLS_MutualAuth(t *testing.T) {
	ca := newTestCA(t, "rejoin-ca")
	other := newTestCA(t, "other-ca")
	srvCert, srvKey := ca.issue(t, 2, x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := ca.issue(t, 3, x509.ExtKeyUsageClientAuth)
	strangerCert, strangerKey := other.issue(t, 4, x509.ExtKeyUsageClientAuth)

	serverTLS, err := ServerTLSConfig(srvCert, srvKey, ca.certPEM)
	must.NoError(t, err)
	must.Eq(t, tls.RequireAndVerifyClientCert, serverTLS.ClientAuth)

	f := newFixture(t, nil)
	f.addNode("n1", structs.NodeStatusInit)
	env := startServer(t, f.node, func(c *ServerConfig) { c.TLS = serverTLS })
	hb := &structs.NodeUpdateStatusRequest{NodeID: "n1", SecretID: secretOf("n1"), Status: structs.NodeStatusReady}

	clientTLS, err := ClientTLSConfig(ca.certPEM, cliCert, cliKey, "")
	must.NoError(t, err)
	c := newTestClient(t, env.addr, func(c *ClientConfig) { c.TLS = clientTLS })
	var r structs.NodeUpdateResponse
	must.NoError(t, c.UpdateStatus(hb, &r))
	must.Eq(t, structs.NodeStatusReady, f.nodeStatus("n1"))

	for name, cfg := range map[string]func() (*tls.Config, error){
		"no client certificate": func() (*tls.Config, error) { return ClientTLSConfig(ca.certPEM, nil, nil, "") },
		"client certificate of another CA": func() (*tls.Config, error) {
			return ClientTLSConfig(ca.certPEM, strangerCert, strangerKey, "")
		},
		"server not trusted": func() (*tls.Config, error) { return ClientTLSConfig(other.certPEM, cliCert, cliKey, "") },
	} {
		t.Run(name, func(t *testing.T) {
			tc, err := cfg()
			must.NoError(t, err)
			bad := newTestClient(t, env.addr, func(c *ClientConfig) { c.TLS = tc; c.MaxAttempts = 1 })
			err = bad.UpdateStatus(hb, &structs.NodeUpdateResponse{})
			must.Error(t, err)
			must.True(t, transient(err))
		})
	}

	// Plain TCP to a TLS server gets nowhere either.
	plain := newTestClient(t, env.addr, func(c *ClientConfig) { c.MaxAttempts = 1; c.Timeout = time.Second })
	must.Error(t, plain.UpdateStatus(hb, &structs.NodeUpdateResponse{}))
}

func TestTLS_ConfigErrors(t *testing.T) {
	_, err := ServerTLSConfig([]byte("nope"), []byte("nope"), nil)
	must.Error(t, err)
	ca := newTestCA(t, "ca")
	c, k := ca.issue(t, 2, x509.ExtKeyUsageServerAuth)
	_, err = ServerTLSConfig(c, k, []byte("not pem"))
	must.Error(t, err)
	_, err = ClientTLSConfig([]byte("not pem"), nil, nil, "")
	must.Error(t, err)
	_, err = ClientTLSConfig(nil, c, nil, "")
	must.Error(t, err)
	cfg, err := ServerTLSConfig(c, k, nil)
	must.NoError(t, err)
	must.Eq(t, tls.NoClientCert, cfg.ClientAuth) // without a CA: server-side TLS only
}
