// Certificates for the gRPC transport's mutual TLS: a cluster CA and one leaf per node.
//
// gRPC's TLS cannot use SM2 certificates, so the channel uses ECDSA P-256 (TOOLCHAIN.md); SM2
// signs everything inside the channel. Certificates are X.509 v3 and verify with standard
// OpenSSL chain verification (X509_verify_cert), as grpc::SslServerCredentials does with
// client-certificate verification.
// Thread-safety: every function is safe to call concurrently.
#pragma once

#include <string>
#include <vector>

#include "node/base/status.h"

namespace meterchain::config {

// A certificate and its private key, both PEM. `key_pem` is PKCS#8 and secret: never log it,
// write it with WritePrivateFile (node/config/files.h).
struct TlsCredentials {
    std::string cert_pem;
    std::string key_pem;
};

inline constexpr int kCaValidityDays = 3650;
inline constexpr int kLeafValidityDays = 825;

// A self-signed CA: ECDSA P-256, basicConstraints critical CA:TRUE (pathlen 0), keyUsage
// critical keyCertSign + cRLSign, subject "CN=<common_name>, O=meterchain".
// kInternal only if OpenSSL fails.
Result<TlsCredentials> GenerateTlsCa(const std::string& common_name,
                                     int validity_days = kCaValidityDays);

// A node certificate signed by `ca`: ECDSA P-256, subject CN = `common_name` (the node name),
// subjectAltName DNS:localhost, IP:127.0.0.1 and each of `extra_hosts` (an IPv4/IPv6 literal
// becomes an IP entry, anything else a DNS entry), keyUsage digitalSignature,
// extendedKeyUsage serverAuth + clientAuth, basicConstraints CA:FALSE.
// kInvalidArgument when `ca` does not parse, is not a CA certificate, its key does not match
// its certificate, or an extra host is neither an IP address nor a valid DNS name.
Result<TlsCredentials> GenerateTlsLeaf(const TlsCredentials& ca, const std::string& common_name,
                                       const std::vector<std::string>& extra_hosts = {},
                                       int validity_days = kLeafValidityDays);

// Verifies `cert_pem` against the single trust anchor `ca_pem` with X509_verify_cert, for a
// clear startup error instead of an opaque handshake failure. kInvalidArgument when either
// does not parse, kUnauthenticated with OpenSSL's reason when verification fails.
Status VerifyTlsCertificate(const std::string& ca_pem, const std::string& cert_pem);

// The start-up check of a node's own TLS files: the key at `key_path` must be the key of the
// certificate at `cert_path`, and the certificate's common name must be `node_name` (peers
// check that name against the validator they dial). kInvalidArgument (unparsable file,
// another node's key or certificate) with a message naming the files and the names involved;
// never includes key material. Whether the CA signed the certificate is VerifyTlsCertificate's
// question.
Status CheckTlsIdentity(const std::string& cert_pem, const std::string& key_pem,
                        const std::string& node_name, const std::string& cert_path,
                        const std::string& key_path);

}  // namespace meterchain::config
