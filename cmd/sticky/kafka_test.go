package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/stickyhq/sticky/cmd/sticky/engine"
	"github.com/stickyhq/sticky/internal/cli"
)

// selfSigned returns a server certificate for 127.0.0.1 and the PEM of the
// CA that signed it.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sticky test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// TestTLSAndSASLFlags runs the engine against a broker that takes only TLS
// connections with SCRAM-SHA-512 logins, configured through the same flags
// and environment variables a user would set.
func TestTLSAndSASLFlags(t *testing.T) {
	cert, caPEM := selfSigned(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.TLS(&tls.Config{Certificates: []tls.Certificate{cert}}),
		kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "sticky", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	configure := func(password string) engine.Config {
		s := newSettings()
		fs := s.flags("serve")
		fs.SetOutput(io.Discard)
		env := map[string]string{"STICKY_KAFKA_SASL_PASSWORD": password}
		err := cli.Parse(fs, []string{"--brokers", c.ListenAddrs()[0], "--data", filepath.Join(dir, "data"), "--http", "127.0.0.1:0",
			"--kafka-tls-ca", caFile, "--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-sasl-user", "sticky", "--log-level", "error"}, "STICKY_",
			func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := s.config(io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}

	bad, cancelBad := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelBad()
	if e, err := engine.Start(bad, configure("wrong")); err == nil {
		e.Close()
		t.Fatal("started with a wrong SASL password")
	} else {
		t.Logf("wrong password: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e, err := engine.Start(ctx, configure("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	body := fmt.Sprintf(`{"user_id":"u1","type":"view","item_id":"i1","ts":%q}`, time.Now().UTC().Format(time.RFC3339))
	resp, err := http.Post("http://"+e.Addr()+"/v1/events", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/events: %d", resp.StatusCode)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + e.Addr() + "/v1/users/u1/profile")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return // produced and consumed over TLS with SCRAM
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the event never came back through the TLS+SASL broker (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestKafkaOptionErrors(t *testing.T) {
	f := func(k kafkaOptions, want string) {
		t.Helper()
		if _, err := k.opts(); err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%+v: got %v, want an error mentioning %q", k, err, want)
		}
	}
	f(kafkaOptions{saslMechanism: "GSSAPI", saslUser: "u"}, "GSSAPI")
	f(kafkaOptions{saslMechanism: "PLAIN"}, "--kafka-sasl-user")
	f(kafkaOptions{saslUser: "u"}, "--kafka-sasl-mechanism")
	f(kafkaOptions{certFile: "c.pem"}, "go together")
	f(kafkaOptions{caFile: "/nonexistent/ca.pem"}, "--kafka-tls-ca")
	if opts, err := (&kafkaOptions{}).opts(); err != nil || len(opts) != 0 {
		t.Fatalf("no flags: %d options, %v", len(opts), err)
	}
}
