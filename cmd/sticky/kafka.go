package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// kafkaOptions are the flags for reaching a secured Kafka cluster, mapped
// onto franz-go's DialTLSConfig and SASL options.
type kafkaOptions struct {
	tls                bool
	caFile, certFile   string
	keyFile            string
	serverName         string
	insecureSkipVerify bool
	saslMechanism      string
	saslUser           string
	saslPassword       string
}

func (k *kafkaOptions) flags(fs *flag.FlagSet) {
	fs.BoolVar(&k.tls, "kafka-tls", k.tls, "connect to the brokers over TLS (implied by the other --kafka-tls-* flags)")
	fs.StringVar(&k.caFile, "kafka-tls-ca", k.caFile, "PEM file of the CA that signed the brokers' certificates; empty: the system's")
	fs.StringVar(&k.certFile, "kafka-tls-cert", k.certFile, "PEM client certificate, for mutual TLS")
	fs.StringVar(&k.keyFile, "kafka-tls-key", k.keyFile, "PEM key of the client certificate")
	fs.StringVar(&k.serverName, "kafka-tls-server-name", k.serverName, "name to verify the brokers' certificates against; empty: the host dialled")
	fs.BoolVar(&k.insecureSkipVerify, "kafka-tls-insecure-skip-verify", k.insecureSkipVerify, "do not verify the brokers' certificates (testing only)")
	fs.StringVar(&k.saslMechanism, "kafka-sasl-mechanism", k.saslMechanism, "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512; empty: no SASL")
	fs.StringVar(&k.saslUser, "kafka-sasl-user", k.saslUser, "SASL user")
	fs.StringVar(&k.saslPassword, "kafka-sasl-password", k.saslPassword, "SASL password (prefer the environment variable: flags show in ps)")
}

// opts returns the franz-go options for every Kafka client of the engine.
func (k *kafkaOptions) opts() ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if k.tls || k.caFile != "" || k.certFile != "" || k.keyFile != "" || k.serverName != "" || k.insecureSkipVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: k.serverName, InsecureSkipVerify: k.insecureSkipVerify}
		if k.caFile != "" {
			pem, err := os.ReadFile(k.caFile)
			if err != nil {
				return nil, fmt.Errorf("cannot read --kafka-tls-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--kafka-tls-ca %s holds no PEM certificate", k.caFile)
			}
		}
		if (k.certFile == "") != (k.keyFile == "") {
			return nil, errors.New("--kafka-tls-cert and --kafka-tls-key go together")
		}
		if k.certFile != "" {
			cert, err := tls.LoadX509KeyPair(k.certFile, k.keyFile)
			if err != nil {
				return nil, fmt.Errorf("cannot load the client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	switch m := strings.ToUpper(k.saslMechanism); m {
	case "":
		if k.saslUser != "" {
			return nil, errors.New("--kafka-sasl-user needs --kafka-sasl-mechanism")
		}
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
		if k.saslUser == "" {
			return nil, fmt.Errorf("--kafka-sasl-mechanism %s needs --kafka-sasl-user", m)
		}
		switch m {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: k.saslUser, Pass: k.saslPassword}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: k.saslUser, Pass: k.saslPassword}.AsSha256Mechanism()))
		default:
			opts = append(opts, kgo.SASL(scram.Auth{User: k.saslUser, Pass: k.saslPassword}.AsSha512Mechanism()))
		}
	default:
		return nil, fmt.Errorf("--kafka-sasl-mechanism %q is not PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", k.saslMechanism)
	}
	return opts, nil
}
