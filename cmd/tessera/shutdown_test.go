package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeSelfSigned writes a certificate for 127.0.0.1 and its key, and returns
// their paths and a pool that trusts the certificate.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "tessera test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	e := newEnv(t)
	certFile, keyFile, pool := writeSelfSigned(t, t.TempDir())
	s := e.startServe("--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("listening on %s, want https", s.url)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(s.url + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var meta struct{ Issuer string }
	json.NewDecoder(resp.Body).Decode(&meta)
	if meta.Issuer != s.url {
		t.Errorf("issuer %q, want %q", meta.Issuer, s.url)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no Strict-Transport-Security over TLS")
	}
	t.Run("ErrHalfConfigured", func(t *testing.T) {
		e.mustFail("--tls-cert and --tls-key go together", "", "serve", "--tls-cert", certFile)
	})
	t.Run("ErrUnreadable", func(t *testing.T) {
		e.mustFail("--tls-cert/--tls-key", "", "serve", "--tls-cert", certFile, "--tls-key", certFile)
	})
}

// SIGTERM: /readyz turns 503 during --drain-delay, open event streams end,
// and the process exits 0.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	e := newEnv(t)
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("", "client", "add", "--name", "api", "--scope", "events", "--json").stdout), &client); err != nil {
		t.Fatal(err)
	}
	s := e.startServe("--drain-delay", "2s")
	req, _ := http.NewRequest("GET", s.url+"/v1/events", nil)
	req.SetBasicAuth(client.ID, client.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("events stream: %v %v", err, resp)
	}
	ended := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
		}
		close(ended)
	}()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	sawDraining := false
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline) && !sawDraining; time.Sleep(20 * time.Millisecond) {
		if r, err := http.Get(s.url + "/readyz"); err == nil {
			r.Body.Close()
			sawDraining = r.StatusCode == http.StatusServiceUnavailable
		}
	}
	if !sawDraining {
		t.Error("/readyz never answered 503 during the drain delay")
	}
	select {
	case <-ended:
	case <-time.After(20 * time.Second):
		t.Fatal("the event stream did not end at shutdown")
	}
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM:\n%s", s.logs())
	}
	if s.err != nil {
		t.Fatalf("exit: %v\n%s", s.err, s.logs())
	}
}
