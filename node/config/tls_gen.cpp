#include "node/config/tls_gen.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <set>

#include "node/config/config.h"
#include "node/crypto/openssl_util.h"
#include "node/crypto/sm.h"

namespace meterchain::config {
namespace {

using crypto::detail::BioPtr;
using crypto::detail::BnPtr;
using crypto::detail::OpenSslError;
using crypto::detail::Owned;
using crypto::detail::PkeyPtr;
using X509Ptr = Owned<X509, X509_free>;
using X509ExtensionPtr = Owned<X509_EXTENSION, X509_EXTENSION_free>;
using GeneralNamesPtr = Owned<GENERAL_NAMES, GENERAL_NAMES_free>;
using GeneralNamePtr = Owned<GENERAL_NAME, GENERAL_NAME_free>;
using Asn1OctetStringPtr = Owned<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Asn1Ia5StringPtr = Owned<ASN1_IA5STRING, ASN1_IA5STRING_free>;
using X509StorePtr = Owned<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = Owned<X509_STORE_CTX, X509_STORE_CTX_free>;

// Generated keys and certificates only fail through OpenSSL itself (out of memory, a broken
// provider): reported as kInternal with OpenSSL's reason.
Status Failed(const std::string& what) { return Internal(OpenSslError(what)); }

Result<PkeyPtr> GenerateP256() {
    PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) return Failed("cannot generate an ECDSA P-256 key");
    return key;
}

Result<std::string> BioContents(BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    if (len <= 0 || data == nullptr) return Failed("cannot read a PEM buffer");
    return std::string(data, static_cast<size_t>(len));
}

Result<std::string> CertToPem(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
        return Failed("cannot encode a certificate as PEM");
    }
    return BioContents(bio.get());
}

Result<std::string> KeyToPem(EVP_PKEY* key) {
    // Secure-heap BIO: the buffer holding the private key is cleansed when freed.
    BioPtr bio(BIO_new(BIO_s_secmem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return Failed("cannot encode a private key as PEM");
    }
    return BioContents(bio.get());
}

Result<X509Ptr> CertFromPem(const std::string& pem, const std::string& what) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return Failed("cannot allocate a BIO");
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) return InvalidArgument(OpenSslError(what + " is not a PEM certificate"));
    return cert;
}

Result<PkeyPtr> KeyFromPem(const std::string& pem, const std::string& what) {
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) return Failed("cannot allocate a BIO");
    // A null passphrase callback with no user data: an encrypted key fails, never prompts.
    PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr,
                                        [](char*, int, int, void*) { return 0; }, nullptr));
    if (!key) return InvalidArgument(OpenSslError(what + " is not an unencrypted PEM key"));
    return key;
}

// 128 random bits, positive: unique per certificate without any bookkeeping (RFC 5280 allows
// up to 20 octets).
Status SetRandomSerial(X509* cert) {
    Bytes serial = crypto::RandomBytes(16);
    serial[0] = static_cast<uint8_t>((serial[0] & 0x7f) | 0x01);  // positive and non-zero
    BnPtr bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
    if (!bn || BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
        return Failed("cannot set the certificate serial number");
    }
    return Status::Ok();
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx{};
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value));
    if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
        return Failed(std::string("cannot add the certificate extension ") + OBJ_nid2sn(nid) +
                      " = " + value);
    }
    return Status::Ok();
}

// A certificate with everything but the extensions and the signature: version 3, serial,
// validity (backdated an hour for clock skew between nodes), subject, issuer, public key.
Result<X509Ptr> NewCertificate(EVP_PKEY* key, const std::string& common_name,
                               X509_NAME* issuer_name, int validity_days) {
    X509Ptr cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
        return Failed("cannot allocate a certificate");
    }
    MC_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
    if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), validity_days, 0, nullptr) == nullptr) {
        return Failed("cannot set the certificate validity");
    }
    X509_NAME* subject = X509_get_subject_name(cert.get());
    const auto* cn = reinterpret_cast<const unsigned char*>(common_name.c_str());
    const auto* org = reinterpret_cast<const unsigned char*>("meterchain");
    if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8, cn, -1, -1, 0) != 1) {
        return InvalidArgument(
            OpenSslError("\"" + common_name + "\" cannot be a certificate common name"));
    }
    if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8, org, -1, -1, 0) != 1) {
        return Failed("cannot set the certificate subject");
    }
    if (X509_set_issuer_name(cert.get(), issuer_name ? issuer_name : subject) != 1 ||
        X509_set_pubkey(cert.get(), key) != 1) {
        return Failed("cannot set the certificate issuer or key");
    }
    return cert;
}

Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& extra_hosts) {
    std::vector<std::string> hosts = {"localhost", "127.0.0.1"};
    std::set<std::string> seen(hosts.begin(), hosts.end());
    for (const auto& host : extra_hosts) {
        if (seen.insert(host).second) hosts.push_back(host);
    }
    GeneralNamesPtr names(GENERAL_NAMES_new());
    if (!names) return Failed("cannot allocate subjectAltName");
    for (const auto& host : hosts) {
        GeneralNamePtr name(GENERAL_NAME_new());
        if (!name) return Failed("cannot allocate subjectAltName");
        in6_addr probe{};
        const bool is_ip = inet_pton(AF_INET, host.c_str(), &probe) == 1 ||
                           inet_pton(AF_INET6, host.c_str(), &probe) == 1;
        if (is_ip) {
            Asn1OctetStringPtr ip(a2i_IPADDRESS(host.c_str()));
            if (!ip) return Failed("cannot encode the IP address " + host);
            GENERAL_NAME_set0_value(name.get(), GEN_IPADD, ip.release());
        } else {
            if (!IsValidHostName(host)) {
                return InvalidArgument("\"" + host +
                                       "\" is neither an IP address nor a valid DNS name");
            }
            Asn1Ia5StringPtr dns(ASN1_IA5STRING_new());
            if (!dns || ASN1_STRING_set(dns.get(), host.data(), static_cast<int>(host.size())) != 1) {
                return Failed("cannot encode the DNS name " + host);
            }
            GENERAL_NAME_set0_value(name.get(), GEN_DNS, dns.release());
        }
        if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) {
            return Failed("cannot build subjectAltName");
        }
        name.release();  // now owned by `names`
    }
    if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
        return Failed("cannot add subjectAltName");
    }
    return Status::Ok();
}

Result<TlsCredentials> SignAndEncode(X509* cert, EVP_PKEY* signer, EVP_PKEY* key) {
    if (X509_sign(cert, signer, EVP_sha256()) <= 0) return Failed("cannot sign a certificate");
    auto cert_pem = CertToPem(cert);
    if (!cert_pem.ok()) return cert_pem.status();
    auto key_pem = KeyToPem(key);
    if (!key_pem.ok()) return key_pem.status();
    return TlsCredentials{std::move(*cert_pem), std::move(*key_pem)};
}

}  // namespace

Result<TlsCredentials> GenerateTlsCa(const std::string& common_name, int validity_days) {
    auto key = GenerateP256();
    if (!key.ok()) return key.status();
    auto cert = NewCertificate(key->get(), common_name, nullptr, validity_days);
    if (!cert.ok()) return cert.status();
    X509* c = cert->get();
    // The subject key identifier goes first: the authority key identifier of a self-signed
    // certificate is copied from it.
    MC_RETURN_IF_ERROR(AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    MC_RETURN_IF_ERROR(AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
    MC_RETURN_IF_ERROR(AddExtension(c, c, NID_subject_key_identifier, "hash"));
    MC_RETURN_IF_ERROR(AddExtension(c, c, NID_authority_key_identifier, "keyid:always"));
    return SignAndEncode(c, key->get(), key->get());
}

Result<TlsCredentials> GenerateTlsLeaf(const TlsCredentials& ca, const std::string& common_name,
                                       const std::vector<std::string>& extra_hosts,
                                       int validity_days) {
    auto ca_cert = CertFromPem(ca.cert_pem, "the CA certificate");
    if (!ca_cert.ok()) return ca_cert.status();
    auto ca_key = KeyFromPem(ca.key_pem, "the CA key");
    if (!ca_key.ok()) return ca_key.status();
    // X509_check_ca: 1 for a v3 CA with CA:TRUE (and keyCertSign when keyUsage is present).
    if (X509_check_ca(ca_cert->get()) != 1) {
        return InvalidArgument("the CA certificate is not a CA certificate (basicConstraints)");
    }
    if (X509_check_private_key(ca_cert->get(), ca_key->get()) != 1) {
        return InvalidArgument(OpenSslError("the CA key does not match the CA certificate"));
    }
    auto key = GenerateP256();
    if (!key.ok()) return key.status();
    auto cert = NewCertificate(key->get(), common_name, X509_get_subject_name(ca_cert->get()),
                               validity_days);
    if (!cert.ok()) return cert.status();
    X509* c = cert->get();
    X509* issuer = ca_cert->get();
    MC_RETURN_IF_ERROR(AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
    MC_RETURN_IF_ERROR(AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature"));
    MC_RETURN_IF_ERROR(AddExtension(c, issuer, NID_ext_key_usage, "serverAuth,clientAuth"));
    MC_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_key_identifier, "hash"));
    MC_RETURN_IF_ERROR(AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
    MC_RETURN_IF_ERROR(AddSubjectAltNames(c, extra_hosts));
    return SignAndEncode(c, ca_key->get(), key->get());
}

Status VerifyTlsCertificate(const std::string& ca_pem, const std::string& cert_pem) {
    auto ca = CertFromPem(ca_pem, "the CA certificate");
    if (!ca.ok()) return ca.status();
    auto cert = CertFromPem(cert_pem, "the certificate");
    if (!cert.ok()) return cert.status();
    X509StorePtr store(X509_STORE_new());
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!store || !ctx || X509_STORE_add_cert(store.get(), ca->get()) != 1 ||
        X509_STORE_CTX_init(ctx.get(), store.get(), cert->get(), nullptr) != 1) {
        return Failed("cannot set up certificate verification");
    }
    if (X509_verify_cert(ctx.get()) != 1) {
        const int error = X509_STORE_CTX_get_error(ctx.get());
        OpenSslError("");  // verification failures also leave entries on the error queue
        return Unauthenticated(std::string("certificate does not verify against the CA: ") +
                               X509_verify_cert_error_string(error));
    }
    return Status::Ok();
}

Status CheckTlsIdentity(const std::string& cert_pem, const std::string& key_pem,
                        const std::string& node_name, const std::string& cert_path,
                        const std::string& key_path) {
    auto cert = CertFromPem(cert_pem, "tls.cert_file " + cert_path);
    if (!cert.ok()) return cert.status();
    BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!key) {
        OpenSslError("");  // drop the queue; its text could quote the file
        return InvalidArgument("tls.key_file " + key_path + ": not a PEM private key");
    }
    std::string common_name;
    X509_NAME* subject = X509_get_subject_name(cert->get());
    const int index = subject ? X509_NAME_get_index_by_NID(subject, NID_commonName, -1) : -1;
    if (index >= 0) {
        const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
        common_name.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                           static_cast<size_t>(ASN1_STRING_length(value)));
    }
    if (X509_check_private_key(cert->get(), key.get()) != 1) {
        OpenSslError("");
        return InvalidArgument("tls.key_file " + key_path +
                               " is not the key of the certificate in tls.cert_file " +
                               cert_path + " (issued to '" + common_name +
                               "'): a key file from another node?");
    }
    if (common_name != node_name) {
        return InvalidArgument("tls.cert_file " + cert_path + " is issued to '" + common_name +
                               "', but this node is '" + node_name +
                               "': peers would refuse it; use this node's own certificate");
    }
    return Status::Ok();
}

}  // namespace meterchain::config
