#include <catch2/catch.hpp>

#include <google/protobuf/util/json_util.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "contracts/validation_key.h"
#include "node/base/bytes.h"
#include "node/config/cluster_init.h"
#include "node/config/config.h"
#include "node/config/files.h"
#include "node/config/gateway_config.h"
#include "node/config/genesis_keys.h"
#include "node/config/tls_gen.h"
#include "node/crypto/sm.h"

using namespace meterchain;
using namespace meterchain::config;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed with everything in it at scope exit.
class TempDir {
public:
    TempDir() {
        m_path = fs::temp_directory_path() /
                 ("mc_config_test_" + ToHex(crypto::RandomBytes(8)));
        fs::create_directories(m_path);
    }
    ~TempDir() {
        std::error_code ignored;
        fs::remove_all(m_path, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const fs::path& path() const { return m_path; }
    std::string operator/(const std::string& name) const { return (m_path / name).string(); }

private:
    fs::path m_path;
};

void WriteText(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    REQUIRE(out);
    out << text;
}

std::string ToJson(const v1::NodeConfig& config) {
    std::string json;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    REQUIRE(google::protobuf::util::MessageToJsonString(config, &json, options).ok());
    return json;
}

std::string NewPublicKeyHex() {
    return ToHex(crypto::Sm2PrivateKey::Generate().PublicKey().Raw());
}

// A valid configuration of four validators, as node "regulator", with relative paths.
v1::NodeConfig ValidConfig() {
    v1::NodeConfig c;
    c.set_chain_id("tianjin-meter-test");
    c.set_name("regulator");
    c.set_key_file("keys/sm2.key");
    c.set_data_dir("data");
    c.set_peer_listen("127.0.0.1:7702");
    c.set_client_listen("0.0.0.0:7703");
    c.mutable_tls()->set_ca_file("../ca.pem");
    c.mutable_tls()->set_cert_file("tls.pem");
    c.mutable_tls()->set_key_file("/etc/meterchain/tls.key");
    c.set_genesis_file("../genesis.json");
    c.set_genesis_time_ms(1700000000000);
    const char* names[] = {"utility", "regulator", "third-party", "institute"};
    for (int i = 0; i < 4; ++i) {
        v1::ValidatorConfig& v = *c.add_validators();
        v.set_name(names[i]);
        v.set_organisation(std::string("Org ") + names[i]);
        v.set_role(names[i]);
        v.set_public_key(NewPublicKeyHex());
        v.set_address("node" + std::to_string(i) + ".example:" + std::to_string(7700 + 2 * i));
    }
    return c;
}

// Writes `config` as node.json in `dir` and loads it; the status of the load.
Status LoadWritten(const TempDir& dir, const v1::NodeConfig& config) {
    const std::string path = dir / "node.json";
    WriteText(path, ToJson(config));
    return LoadNodeConfig(path).status();
}

// The error message of loading `config` changed by `mutate`; fails the test if it loads.
std::string LoadError(const std::function<void(v1::NodeConfig&)>& mutate) {
    TempDir dir;
    v1::NodeConfig config = ValidConfig();
    mutate(config);
    const Status status = LoadWritten(dir, config);
    REQUIRE_FALSE(status.ok());
    CHECK(status.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(status.message(), StartsWith("config " + (dir / "node.json") + ": "));
    return status.message();
}

unsigned FileMode(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

struct X509Deleter {
    void operator()(X509* p) const { X509_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

X509Ptr ParseCert(const std::string& pem) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    REQUIRE(cert);
    return cert;
}

// Standard OpenSSL chain verification of `leaf` against the single trust anchor `ca`, for the
// given purpose (X509_PURPOSE_SSL_SERVER / _CLIENT). Returns the X509_V_* result.
int VerifyWithOpenSsl(const std::string& ca_pem, const std::string& leaf_pem, int purpose) {
    X509Ptr ca = ParseCert(ca_pem);
    X509Ptr leaf = ParseCert(leaf_pem);
    std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(),
                                                                   X509_STORE_free);
    std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                         X509_STORE_CTX_free);
    REQUIRE(X509_STORE_add_cert(store.get(), ca.get()) == 1);
    REQUIRE(X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr) == 1);
    REQUIRE(X509_STORE_CTX_set_purpose(ctx.get(), purpose) == 1);
    const int ok = X509_verify_cert(ctx.get());
    const int error = X509_STORE_CTX_get_error(ctx.get());
    if (ok == 1) REQUIRE(error == X509_V_OK);
    return ok == 1 ? X509_V_OK : (error == X509_V_OK ? -1 : error);
}

}  // namespace

// ---- loading ----

TEST_CASE("a valid config loads with defaults and paths resolved against its directory") {
    TempDir dir;
    const std::string path = dir / "node.json";
    const v1::NodeConfig written = ValidConfig();
    WriteText(path, ToJson(written));

    const auto loaded = LoadNodeConfig(path);
    REQUIRE(loaded.ok());
    const v1::NodeConfig& c = *loaded;
    CHECK(c.chain_id() == "tianjin-meter-test");
    CHECK(c.consensus().tick_ms() == 10);
    CHECK(c.consensus().view_change_timeout_ms() == 2000);
    CHECK(c.consensus().checkpoint_interval() == 16);
    CHECK(c.consensus().window() == 8);
    CHECK(c.consensus().max_block_txs() == 1000);
    CHECK(c.consensus().max_batch_delay_ms() == 5);
    CHECK(c.consensus().max_clock_skew_ms() == 30000);
    CHECK(c.mempool().max_txs() == 100000);
    CHECK(c.mempool().verify_threads() >= 1);
    CHECK(c.log_level() == "info");
    CHECK(c.sm2_id() == "1234567812345678");
    CHECK(c.genesis_time_ms() == 1700000000000u);

    const fs::path base = fs::absolute(dir.path());
    CHECK(c.key_file() == (base / "keys/sm2.key").string());
    CHECK(c.data_dir() == (base / "data").string());
    CHECK(c.tls().cert_file() == (base / "tls.pem").string());
    CHECK(c.tls().ca_file() == (base.parent_path() / "ca.pem").string());
    CHECK(c.genesis_file() == (base.parent_path() / "genesis.json").string());
    CHECK(c.tls().key_file() == "/etc/meterchain/tls.key");  // absolute paths stay

    CHECK(SelfIndex(c) == 1);
    const auto set = BuildValidatorSet(c);
    REQUIRE(set.ok());
    REQUIRE(set->size() == 4);
    CHECK(set->Quorum() == 3);
    CHECK(set->at(2).name == "third-party");
    CHECK(ToHex(set->at(2).public_key) == written.validators(2).public_key());
    CHECK(set->at(3).address == "node3.example:7706");
    CHECK(ConfigWarnings(c).empty());
}

TEST_CASE("explicit values override the defaults and camelCase JSON names are accepted") {
    TempDir dir;
    v1::NodeConfig config = ValidConfig();
    config.mutable_consensus()->set_tick_ms(20);
    config.mutable_mempool()->set_verify_threads(3);
    config.set_log_level("debug");
    std::string json;
    REQUIRE(google::protobuf::util::MessageToJsonString(config, &json).ok());  // lowerCamelCase
    CHECK_THAT(json, Contains("\"chainId\""));
    WriteText(dir / "node.json", json);
    const auto loaded = LoadNodeConfig(dir / "node.json");
    REQUIRE(loaded.ok());
    CHECK(loaded->consensus().tick_ms() == 20);
    CHECK(loaded->consensus().window() == 8);
    CHECK(loaded->mempool().verify_threads() == 3);
    CHECK(loaded->log_level() == "debug");
}

TEST_CASE("a missing config file is an error naming the path") {
    TempDir dir;
    const auto loaded = LoadNodeConfig(dir / "absent.json");
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == StatusCode::kNotFound);
    CHECK_THAT(loaded.status().message(), Contains(dir / "absent.json"));
}

TEST_CASE("malformed JSON is an error naming the path") {
    TempDir dir;
    WriteText(dir / "node.json", "{\"chain_id\": \"x\",");
    const auto loaded = LoadNodeConfig(dir / "node.json");
    REQUIRE_FALSE(loaded.ok());
    CHECK(loaded.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(loaded.status().message(), StartsWith("config " + (dir / "node.json") + ": "));
}

TEST_CASE("an unknown field is an error naming the field") {
    TempDir dir;
    std::string json = ToJson(ValidConfig());
    json.insert(1, "\"chain_idd\": \"typo\", ");
    WriteText(dir / "node.json", json);
    const auto loaded = LoadNodeConfig(dir / "node.json");
    REQUIRE_FALSE(loaded.ok());
    CHECK_THAT(loaded.status().message(), StartsWith("config " + (dir / "node.json") + ": "));
    CHECK_THAT(loaded.status().message(), Contains("chain_idd"));
}

TEST_CASE("each missing required value is reported by its field name") {
    CHECK_THAT(LoadError([](auto& c) { c.clear_chain_id(); }), Contains(": chain_id: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_name(); }), Contains(": name: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_key_file(); }), Contains(": key_file: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_data_dir(); }), Contains(": data_dir: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_peer_listen(); }),
               Contains(": peer_listen: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_client_listen(); }),
               Contains(": client_listen: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.mutable_tls()->clear_ca_file(); }),
               Contains(": tls.ca_file: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.mutable_tls()->clear_cert_file(); }),
               Contains(": tls.cert_file: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_tls(); }), Contains(": tls.ca_file: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_genesis_file(); }),
               Contains(": genesis_file: missing"));
    // A default genesis time would hash to a genesis of its own, silently.
    CHECK_THAT(LoadError([](auto& c) { c.clear_genesis_time_ms(); }),
               Contains(": genesis_time_ms: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.clear_validators(); }),
               Contains(": validators: at least one validator"));
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(2)->clear_name(); }),
               Contains(": validators[2].name: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(3)->clear_public_key(); }),
               Contains(": validators[3].public_key: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(0)->clear_address(); }),
               Contains(": validators[0].address: missing"));
}

TEST_CASE("a bad validator public key is reported by its field") {
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(2)->set_public_key("04abcd"); }),
               Contains(": validators[2].public_key: expected 130 hex characters"));
    CHECK_THAT(LoadError([](auto& c) {
                   std::string key = c.validators(1).public_key();
                   key[0] = '0';
                   key[1] = '3';
                   c.mutable_validators(1)->set_public_key(key);
               }),
               Contains(": validators[1].public_key: must start with 04"));
    CHECK_THAT(LoadError([](auto& c) {
                   std::string key = c.validators(1).public_key();
                   key[7] = 'x';
                   c.mutable_validators(1)->set_public_key(key);
               }),
               Contains(": validators[1].public_key: not a hex string"));
    // Right length and prefix, but (0, 1) is not on the SM2 curve.
    CHECK_THAT(LoadError([](auto& c) {
                   c.mutable_validators(0)->set_public_key("04" + std::string(127, '0') + "1");
               }),
               Contains(": validators[0].public_key: not a valid SM2 public key"));
    CHECK_THAT(LoadError([](auto& c) {
                   c.mutable_validators(3)->set_public_key(c.validators(0).public_key());
               }),
               Contains(": validators[3].public_key: duplicates validators[0].public_key"));
}

TEST_CASE("duplicate validator names and addresses are reported") {
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(3)->set_name("utility"); }),
               Contains(": validators[3].name: \"utility\" duplicates validators[0].name"));
    CHECK_THAT(LoadError([](auto& c) {
                   c.mutable_validators(2)->set_address(c.validators(1).address());
               }),
               Contains(": validators[2].address:"));
}

TEST_CASE("the node itself must be among the validators") {
    const std::string error = LoadError([](auto& c) { c.set_name("nobody"); });
    CHECK_THAT(error, Contains(": name: \"nobody\" is not among the validators"));
}

TEST_CASE("bad host:port values are reported by their field") {
    for (const char* bad : {"127.0.0.1", "127.0.0.1:", ":7000", "127.0.0.1:0", "127.0.0.1:65536",
                            "127.0.0.1:70x", "bad host:7000", "300.1.1.1:7000", "::1:7000",
                            "[::1:7000", "-leading.example:7000"}) {
        INFO(bad);
        CHECK_THAT(LoadError([&](auto& c) { c.set_peer_listen(bad); }), Contains(": peer_listen: "));
        CHECK_THAT(LoadError([&](auto& c) { c.mutable_validators(1)->set_address(bad); }),
                   Contains(": validators[1].address: "));
    }
    for (const char* good : {"127.0.0.1:1", "localhost:65535", "[::1]:7000", "[::]:7000",
                             "node-1.meter.example:7000"}) {
        INFO(good);
        CHECK(CheckHostPort(good).ok());
    }
}

TEST_CASE("role and log level must be one of the documented values") {
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(1)->set_role("auditor"); }),
               Contains(": validators[1].role: \"auditor\" is invalid"));
    CHECK_THAT(LoadError([](auto& c) { c.mutable_validators(1)->clear_role(); }),
               Contains(": validators[1].role: missing"));
    CHECK_THAT(LoadError([](auto& c) { c.set_log_level("verbose"); }),
               Contains(": log_level: \"verbose\" is invalid"));
}

TEST_CASE("fewer than four validators load but come with a fault-tolerance warning") {
    TempDir dir;
    v1::NodeConfig config = ValidConfig();
    config.mutable_validators()->RemoveLast();
    WriteText(dir / "node.json", ToJson(config));
    const auto loaded = LoadNodeConfig(dir / "node.json");
    REQUIRE(loaded.ok());
    const auto warnings = ConfigWarnings(*loaded);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == "n=3 validators tolerate no faulty node (need n >= 4)");
    CHECK(FaultToleranceWarning(4).empty());
}

// ---- key files ----

TEST_CASE("an SM2 key file round-trips with mode 0600 and is never overwritten") {
    TempDir dir;
    const std::string path = dir / "sm2.key";
    const crypto::Sm2PrivateKey key = crypto::Sm2PrivateKey::Generate();
    REQUIRE(WriteSm2KeyFile(path, key).ok());
    CHECK(FileMode(path) == 0600);
    CHECK(CheckPrivateFileMode(path).ok());

    const auto loaded = LoadSm2KeyFile(path);
    REQUIRE(loaded.ok());
    CHECK(loaded->PublicKey().Raw() == key.PublicKey().Raw());
    const Bytes message = ToBytes("meter reading");
    CHECK(key.PublicKey().Verify(message, loaded->Sign(message)));

    const Status again = WriteSm2KeyFile(path, crypto::Sm2PrivateKey::Generate());
    CHECK(again.code() == StatusCode::kAlreadyExists);
    CHECK(LoadSm2KeyFile(path)->PublicKey().Raw() == key.PublicKey().Raw());
}

TEST_CASE("a group- or world-readable key file is flagged") {
    TempDir dir;
    const std::string path = dir / "sm2.key";
    REQUIRE(WriteSm2KeyFile(path, crypto::Sm2PrivateKey::Generate()).ok());
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    const Status status = CheckPrivateFileMode(path);
    CHECK(status.code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(status.message(), Contains(path) && Contains("0644"));
    CHECK(LoadSm2KeyFile(path).ok());  // still usable: a warning, not a refusal

    v1::NodeConfig config = ValidConfig();
    config.set_key_file(path);
    config.mutable_tls()->set_key_file(dir / "absent-tls.key");
    const auto warnings = ConfigWarnings(config);
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0] == status.message());
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(ConfigWarnings(config).empty());
}

TEST_CASE("unreadable or malformed key files are errors naming the path") {
    TempDir dir;
    const auto missing = LoadSm2KeyFile(dir / "absent.key");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.status().code() == StatusCode::kNotFound);
    CHECK_THAT(missing.status().message(), Contains(dir / "absent.key"));

    WriteText(dir / "garbage.key", "not a key");
    const auto garbage = LoadSm2KeyFile(dir / "garbage.key");
    REQUIRE_FALSE(garbage.ok());
    CHECK(garbage.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(garbage.status().message(), Contains(dir / "garbage.key"));

    // A TLS (P-256) key is a valid PEM key but not an SM2 one.
    const auto ca = GenerateTlsCa("test CA");
    REQUIRE(ca.ok());
    WriteText(dir / "p256.key", ca->key_pem);
    CHECK_FALSE(LoadSm2KeyFile(dir / "p256.key").ok());
}

// ---- TLS ----

TEST_CASE("a generated leaf verifies against its CA and not against another CA") {
    const auto ca = GenerateTlsCa("cluster CA");
    REQUIRE(ca.ok());
    const auto leaf = GenerateTlsLeaf(*ca, "utility", {"node0.meter.example", "10.1.2.3"});
    REQUIRE(leaf.ok());
    CHECK(VerifyWithOpenSsl(ca->cert_pem, leaf->cert_pem, X509_PURPOSE_SSL_SERVER) == X509_V_OK);
    CHECK(VerifyWithOpenSsl(ca->cert_pem, leaf->cert_pem, X509_PURPOSE_SSL_CLIENT) == X509_V_OK);
    CHECK(VerifyTlsCertificate(ca->cert_pem, leaf->cert_pem).ok());

    const auto other_ca = GenerateTlsCa("cluster CA");  // same name, different key
    REQUIRE(other_ca.ok());
    const auto foreign = GenerateTlsLeaf(*other_ca, "utility");
    REQUIRE(foreign.ok());
    CHECK(VerifyWithOpenSsl(ca->cert_pem, foreign->cert_pem, X509_PURPOSE_SSL_CLIENT) !=
          X509_V_OK);
    CHECK(VerifyTlsCertificate(ca->cert_pem, foreign->cert_pem).code() ==
          StatusCode::kUnauthenticated);
    // A leaf is no CA and is refused as one.
    const auto signed_by_leaf = GenerateTlsLeaf({leaf->cert_pem, leaf->key_pem}, "x");
    CHECK(signed_by_leaf.status().code() == StatusCode::kInvalidArgument);
    // Nor does a CA certificate with someone else's key sign anything.
    CHECK(GenerateTlsLeaf({ca->cert_pem, other_ca->key_pem}, "x").status().code() ==
          StatusCode::kInvalidArgument);
}

TEST_CASE("generated certificates carry the names and extensions gRPC needs") {
    const auto ca = GenerateTlsCa("cluster CA");
    REQUIRE(ca.ok());
    const auto leaf = GenerateTlsLeaf(*ca, "regulator", {"10.1.2.3", "node1.meter.example"});
    REQUIRE(leaf.ok());
    CHECK_THAT(leaf->key_pem, StartsWith("-----BEGIN PRIVATE KEY-----"));

    X509Ptr ca_cert = ParseCert(ca->cert_pem);
    CHECK(X509_get_version(ca_cert.get()) == X509_VERSION_3);
    CHECK(X509_check_ca(ca_cert.get()) >= 1);
    CHECK((X509_get_key_usage(ca_cert.get()) & KU_KEY_CERT_SIGN) != 0);

    X509Ptr cert = ParseCert(leaf->cert_pem);
    CHECK(X509_get_version(cert.get()) == X509_VERSION_3);
    CHECK(X509_check_ca(cert.get()) == 0);
    CHECK(X509_check_host(cert.get(), "localhost", 0, 0, nullptr) == 1);
    CHECK(X509_check_host(cert.get(), "node1.meter.example", 0, 0, nullptr) == 1);
    CHECK(X509_check_host(cert.get(), "evil.example", 0, 0, nullptr) == 0);
    CHECK(X509_check_ip_asc(cert.get(), "127.0.0.1", 0) == 1);
    CHECK(X509_check_ip_asc(cert.get(), "10.1.2.3", 0) == 1);
    CHECK((X509_get_extended_key_usage(cert.get()) & (XKU_SSL_SERVER | XKU_SSL_CLIENT)) ==
          (XKU_SSL_SERVER | XKU_SSL_CLIENT));
    char cn[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
    CHECK(std::string(cn) == "regulator");
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    REQUIRE(key != nullptr);
    CHECK(EVP_PKEY_is_a(key, "EC"));
    char group[32] = {};
    REQUIRE(EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, nullptr) == 1);
    CHECK(std::string(group) == "prime256v1");

    CHECK(GenerateTlsLeaf(*ca, "x", {"bad host,DNS:evil"}).status().code() ==
          StatusCode::kInvalidArgument);
}

// ---- genesis key fill-in ----

TEST_CASE("FillGenesisKeys sets publicKey by organisation name or role and keeps the rest") {
    const std::string input = R"({
  "version": 1,
  "big": 12345678901234567890,
  "organisations": [
    {
      "name": "State Grid Tianjin Electric Power",
      "role": "utility"
    },
    {"name": "Unknown", "role": "regulator", "publicKey": "old"},
    {"name": "Nobody", "role": "nobody"},
    {},
    "not an object"
  ],
  "other": {"organisations": [{"name": "State Grid Tianjin Electric Power"}]}
}
)";
    const std::map<std::string, std::string> keys = {
        {"State Grid Tianjin Electric Power", "04aa"}, {"regulator", "04bb"}};
    size_t filled = 0;
    const auto out = FillGenesisKeys(input, keys, &filled);
    REQUIRE(out.ok());
    CHECK(filled == 2);
    CHECK_THAT(*out, Contains("\"role\": \"utility\",\n      \"publicKey\": \"04aa\"\n    }"));
    CHECK_THAT(*out, Contains(R"({"name": "Unknown", "role": "regulator", "publicKey": "04bb"})"));
    CHECK_THAT(*out, Contains(R"({"name": "Nobody", "role": "nobody"})"));
    CHECK_THAT(*out, Contains("\"big\": 12345678901234567890,"));
    CHECK_THAT(*out, Contains(R"("other": {"organisations": [{"name": "State Grid Tianjin Electric Power"}]})"));

    // The result is valid JSON to the same scanner, and filling again changes nothing.
    size_t again = 0;
    const auto twice = FillGenesisKeys(*out, keys, &again);
    REQUIRE(twice.ok());
    CHECK(again == 2);
    CHECK(*twice == *out);
}

TEST_CASE("FillGenesisKeys handles escapes, empty documents and malformed input") {
    const auto escaped = FillGenesisKeys(
        R"({"organisations":[{"name":"Tianjin \u5929\u6d25 \"Lab\""}]})",
        {{"Tianjin \xe5\xa4\xa9\xe6\xb4\xa5 \"Lab\"", "04cc"}});
    REQUIRE(escaped.ok());
    CHECK_THAT(*escaped, Contains(R"("publicKey": "04cc")"));

    CHECK(*FillGenesisKeys("{}", {{"a", "b"}}) == "{}");
    CHECK(*FillGenesisKeys(" {\"organisations\": []}\n", {{"a", "b"}}) ==
          " {\"organisations\": []}\n");
    for (const char* bad : {"", "[]", "{", "{\"a\": }", "{\"a\": 01}", "{} x",
                            "{\"organisations\": {}}", "{\"a\": \"\\q\"}", "{\"a\" 1}"}) {
        INFO(bad);
        const auto result = FillGenesisKeys(bad, {{"a", "b"}});
        CHECK(result.status().code() == StatusCode::kInvalidArgument);
    }
}

// ---- init-cluster ----

TEST_CASE("init-cluster writes configs that all load and agree on the validator set") {
    TempDir dir;
    const std::string genesis_in = dir / "genesis-in.json";
    WriteText(genesis_in, R"({"organisations": [
  {"name": "State Grid Tianjin Electric Power", "role": "utility"},
  {"name": "Tianjin Institute of Metrology", "role": "institute"},
  {"name": "Some Lab", "role": "third-party"}
]}
)");
    ClusterOptions options;
    options.nodes = 5;
    options.out_dir = dir / "cluster";
    options.base_port = 9100;
    options.chain_id = "tianjin-meter-ci";
    options.genesis_file = genesis_in;
    std::vector<int> progress;
    const auto summary =
        InitCluster(options, [&](const ClusterNode& node) { progress.push_back(node.index); });
    REQUIRE(summary.ok());
    CHECK(progress == std::vector<int>{0, 1, 2, 3, 4});
    REQUIRE(summary->nodes.size() == 5);
    CHECK(summary->genesis_keys_filled == 3);
    CHECK(FileMode(dir / "cluster/ca.key") == 0600);

    const std::string ca_pem = *ReadFileToString(dir / "cluster/ca.pem");
    std::vector<v1::NodeConfig> configs;
    for (int i = 0; i < 5; ++i) {
        INFO("node " << i);
        const std::string node_dir = dir / ("cluster/node" + std::to_string(i));
        auto loaded = LoadNodeConfig(node_dir + "/node.json");
        REQUIRE(loaded.ok());
        const v1::NodeConfig& c = *loaded;
        CHECK(SelfIndex(c) == i);
        CHECK(c.chain_id() == "tianjin-meter-ci");
        CHECK(c.peer_listen() == "127.0.0.1:" + std::to_string(9100 + 2 * i));
        CHECK(c.client_listen() == "127.0.0.1:" + std::to_string(9100 + 2 * i + 1));
        CHECK(c.data_dir() == fs::path(node_dir + "/data").lexically_normal().string());
        CHECK(c.genesis_file() ==
              fs::path(dir / "cluster/genesis.json").lexically_normal().string());
        CHECK(c.genesis_time_ms() == summary->genesis_time_ms);
        CHECK(FileMode(c.key_file()) == 0600);
        CHECK(FileMode(c.tls().key_file()) == 0600);

        const auto key = LoadSm2KeyFile(c.key_file());
        REQUIRE(key.ok());
        CHECK(ToHex(key->PublicKey().Raw()) == c.validators(i).public_key());
        CHECK(VerifyWithOpenSsl(ca_pem, *ReadFileToString(c.tls().cert_file()),
                                X509_PURPOSE_SSL_SERVER) == X509_V_OK);
        configs.push_back(c);
    }
    const char* names[] = {"utility", "regulator", "third-party", "institute", "validator4"};
    for (int i = 0; i < 5; ++i) {
        CHECK(configs[0].validators(i).name() == names[i]);
        for (const auto& other : configs) {
            CHECK(other.validators(i).SerializeAsString() ==
                  configs[0].validators(i).SerializeAsString());
        }
    }
    CHECK(configs[0].validators(0).organisation() == "State Grid Tianjin Electric Power");
    CHECK(configs[0].validators(4).role() == "institute");

    const std::string genesis = *ReadFileToString(dir / "cluster/genesis.json");
    CHECK_THAT(genesis, Contains("\"publicKey\": \"" + configs[0].validators(0).public_key()));
    CHECK_THAT(genesis, Contains("\"publicKey\": \"" + configs[0].validators(3).public_key()));
    CHECK_THAT(genesis, Contains("\"publicKey\": \"" + configs[0].validators(2).public_key()));
}

TEST_CASE("init-cluster without a genesis writes an empty object and refuses a used dir") {
    TempDir dir;
    ClusterOptions options;
    options.nodes = 1;
    options.out_dir = dir / "cluster";
    const auto summary = InitCluster(options);
    REQUIRE(summary.ok());
    CHECK(*ReadFileToString(dir / "cluster/genesis.json") == "{}\n");
    CHECK(LoadNodeConfig(dir / "cluster/node0/node.json").ok());

    CHECK(InitCluster(options).status().code() == StatusCode::kAlreadyExists);

    options.out_dir = dir / "other";
    options.nodes = 0;
    CHECK(InitCluster(options).status().code() == StatusCode::kInvalidArgument);
    options.nodes = 4;
    options.base_port = 65530;
    CHECK(InitCluster(options).status().code() == StatusCode::kInvalidArgument);
    options.base_port = 7700;
    options.genesis_file = dir / "absent-genesis.json";
    CHECK(InitCluster(options).status().code() == StatusCode::kNotFound);
    CHECK_FALSE(fs::exists(dir / "other"));  // removed again after the failure
}

TEST_CASE("init-cluster with a host per node gives every node the same ports on its own host") {
    TempDir dir;
    ClusterOptions options;
    options.nodes = 4;
    options.out_dir = dir / "cluster";
    options.base_port = 7700;
    options.hosts = {"peer-utility", "peer-regulator", "198.18.0.3", "peer-institute"};
    options.client_listen_host = "0.0.0.0";
    options.gateway_port = 8443;
    const auto summary = InitCluster(options);
    REQUIRE(summary.ok());
    const std::string ca_pem = *ReadFileToString(dir / "cluster/ca.pem");
    for (int i = 0; i < 4; ++i) {
        INFO("node " << i);
        auto c = LoadNodeConfig(dir / ("cluster/node" + std::to_string(i) + "/node.json"));
        REQUIRE(c.ok());
        const std::string& host = options.hosts[static_cast<size_t>(i)];
        CHECK(c->peer_listen() == host + ":7700");
        CHECK(c->validators(i).address() == host + ":7700");
        CHECK(c->client_listen() == "0.0.0.0:7701");
        CHECK(c->gateway().listen() == "0.0.0.0:8443");
        CHECK(c->gateway().credentials_size() == 0);
        // The certificate names the node's own host, so that peers dialing it verify it.
        X509Ptr cert = ParseCert(*ReadFileToString(c->tls().cert_file()));
        if (i == 2) {
            CHECK(X509_check_ip_asc(cert.get(), "198.18.0.3", 0) == 1);
        } else {
            CHECK(X509_check_host(cert.get(), host.c_str(), 0, 0, nullptr) == 1);
        }
        CHECK(X509_check_host(cert.get(), "peer-other", 0, 0, nullptr) == 0);
        CHECK(VerifyWithOpenSsl(ca_pem, *ReadFileToString(c->tls().cert_file()),
                                X509_PURPOSE_SSL_SERVER) == X509_V_OK);
    }

    // Without a client listen host, the client API binds the node's own host too; on one
    // shared host, each node's gateway gets a port of its own.
    options.out_dir = dir / "own";
    options.client_listen_host.clear();
    REQUIRE(InitCluster(options).ok());
    CHECK(LoadNodeConfig(dir / "own/node1/node.json")->client_listen() == "peer-regulator:7701");
    options.out_dir = dir / "shared";
    options.hosts.clear();
    options.gateway_port = 9000;
    REQUIRE(InitCluster(options).ok());
    CHECK(LoadNodeConfig(dir / "shared/node3/node.json")->gateway().listen() == "127.0.0.1:9003");
}

TEST_CASE("init-cluster refuses hosts that are not one distinct host per node") {
    TempDir dir;
    ClusterOptions options;
    options.nodes = 4;
    options.out_dir = dir / "cluster";
    options.hosts = {"a", "b", "c"};
    CHECK(InitCluster(options).status().code() == StatusCode::kInvalidArgument);
    options.hosts = {"a", "b", "c", "a"};
    const auto twice = InitCluster(options);
    CHECK(twice.status().code() == StatusCode::kInvalidArgument);
    CHECK_THAT(twice.status().message(), Contains("a twice"));
    options.hosts = {"a", "b", "c", "bad host"};
    CHECK(InitCluster(options).status().code() == StatusCode::kInvalidArgument);
    options.hosts = {"a", "b", "c", "d"};
    options.gateway_port = 7701;
    CHECK_THAT(InitCluster(options).status().message(), Contains("overlaps"));
    options.hosts.clear();
    options.gateway_port = 7705;  // node 2's peer port on a shared host
    CHECK(InitCluster(options).status().code() == StatusCode::kInvalidArgument);
    CHECK_FALSE(fs::exists(dir / "cluster"));
}

// ---- chain validation key in the genesis ----

TEST_CASE("genesis members are set in place or appended in the document's layout") {
    const std::string doc = "{\n  \"organisations\": [],\n  \"validationKeys\": [1]\n}\n";
    auto out =
        SetTopLevelMembers(doc, R"({"validationKeys":[{"org":"a"}],"validationKeyCheck":"AA=="})");
    REQUIRE(out.ok());
    CHECK(*out == "{\n  \"organisations\": [],\n  \"validationKeys\": [{\"org\":\"a\"}],\n"
                  "  \"validationKeyCheck\": \"AA==\"\n}\n");
    auto inline_doc = SetTopLevelMembers(R"({"a": 1})", R"({"b":2})");
    REQUIRE(inline_doc.ok());
    CHECK(*inline_doc == R"({"a": 1, "b": 2})");
    auto empty = SetTopLevelMembers("{}", R"({"b":2,"c":3})");
    REQUIRE(empty.ok());
    CHECK(*empty == R"({"b": 2, "c": 3})");
    CHECK(SetTopLevelMembers("[1]", "{}").status().code() == StatusCode::kInvalidArgument);
    CHECK(SetTopLevelMembers("{}", "{").status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("init-cluster wraps one chain validation key for every node and writes K nowhere") {
    TempDir dir;
    const std::string genesis_in = dir / "genesis-in.json";
    WriteText(genesis_in, "{\"organisations\": [{\"name\": \"utility\"}]}\n");
    ClusterOptions options;
    options.nodes = 4;
    options.out_dir = dir / "cluster";
    options.base_port = 9300;
    options.genesis_file = genesis_in;
    const auto summary = InitCluster(options);
    REQUIRE(summary.ok());
    CHECK(summary->validation_keys_wrapped == 4);
    const std::string text = *ReadFileToString(dir / "cluster/genesis.json");
    v1::ContractsGenesis genesis;
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;
    REQUIRE(google::protobuf::util::JsonStringToMessage(text, &genesis, lenient).ok());
    REQUIRE(genesis.validation_keys_size() == 4);
    REQUIRE(genesis.validation_key_check().size() == 32);
    Bytes k0;
    for (int i = 0; i < 4; ++i) {
        const auto& node = summary->nodes[static_cast<size_t>(i)];
        INFO(node.identity.name);
        CHECK(genesis.validation_keys(i).org() == node.identity.name);
        auto key = LoadSm2KeyFile(node.dir + "/sm2.key");
        REQUIRE(key.ok());
        auto k = contracts::UnwrapValidationKey(genesis.validation_keys(i),
                                                AsBytes(genesis.validation_key_check()), *key);
        REQUIRE(k.ok());
        auto raw = key->Decrypt(AsBytes(genesis.validation_keys(i).wrapped()));
        REQUIRE(raw.ok());
        if (i == 0) k0 = *raw;
        CHECK(*raw == k0);  // one K for all
        // Another node's key does not unwrap this copy.
        const auto& next = summary->nodes[static_cast<size_t>((i + 1) % 4)];
        auto other = LoadSm2KeyFile(next.dir + "/sm2.key");
        REQUIRE(other.ok());
        CHECK_FALSE(contracts::UnwrapValidationKey(genesis.validation_keys(i),
                                                   AsBytes(genesis.validation_key_check()), *other)
                        .ok());
    }
    // K in clear (hex or base64) is in no file of the cluster.
    std::string k_b64(64, '\0');
    k_b64.resize(static_cast<size_t>(
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(k_b64.data()), k0.data(),
                        static_cast<int>(k0.size()))));
    for (const auto& entry : fs::recursive_directory_iterator(dir / "cluster")) {
        if (!entry.is_regular_file()) continue;
        const std::string content = *ReadFileToString(entry.path().string());
        INFO(entry.path());
        CHECK(content.find(k_b64) == std::string::npos);
        CHECK(content.find(ToHex(k0)) == std::string::npos);
        CHECK(content.find(std::string(k0.begin(), k0.end())) == std::string::npos);
    }
}

TEST_CASE("a node's TLS key must belong to its certificate, issued to the node's own name") {
    const auto ca = GenerateTlsCa("cluster CA");
    REQUIRE(ca.ok());
    const auto utility = GenerateTlsLeaf(*ca, "utility");
    const auto regulator = GenerateTlsLeaf(*ca, "regulator");
    REQUIRE(utility.ok());
    REQUIRE(regulator.ok());
    CHECK(CheckTlsIdentity(utility->cert_pem, utility->key_pem, "utility",
                           "u.crt", "u.key")
              .ok());
    // Another node's key with this node's certificate.
    const Status other_key = CheckTlsIdentity(utility->cert_pem,
                                              regulator->key_pem, "utility", "u.crt", "r.key");
    CHECK(other_key.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(other_key.message(), Contains("tls.key_file r.key is not the key of the "
                                             "certificate in tls.cert_file u.crt"));
    // Another node's certificate and key, consistent with each other.
    const Status other_pair = CheckTlsIdentity(regulator->cert_pem,
                                               regulator->key_pem, "utility", "r.crt", "r.key");
    CHECK(other_pair.code() == StatusCode::kInvalidArgument);
    CHECK_THAT(other_pair.message(),
               Contains("is issued to 'regulator', but this node is 'utility'"));
    // Not a key at all.
    CHECK(CheckTlsIdentity(utility->cert_pem, "garbage", "utility", "u.crt",
                           "u.key")
              .code() == StatusCode::kInvalidArgument);
}

TEST_CASE("the gateway is off by default and its fields are checked when it is on") {
    auto loaded = [](const std::function<void(v1::NodeConfig&)>& mutate) { return LoadError(mutate); };
    const std::string hash(64, 'a');
    auto on = [&](v1::NodeConfig& c) {
        c.mutable_gateway()->set_listen("127.0.0.1:8443");
        auto* cred = c.mutable_gateway()->add_credentials();
        cred->set_organisation("regulator");
        cred->set_token_sm3(hash);
    };
    {
        TempDir dir;
        v1::NodeConfig c = ValidConfig();
        on(c);
        const Status s = LoadWritten(dir, c);
        INFO(s.ToString());
        CHECK(s.ok());
    }
    CHECK_THAT(loaded([&](v1::NodeConfig& c) {
                   on(c);
                   c.mutable_gateway()->set_listen("nowhere");
               }),
               Catch::Contains("gateway.listen"));
    CHECK_THAT(loaded([&](v1::NodeConfig& c) {
                   on(c);
                   c.mutable_gateway()->mutable_credentials(0)->set_token_sm3("abc");
               }),
               Catch::Contains("gateway.credentials[0].token_sm3: expected 64 hex characters"));
    CHECK_THAT(loaded([&](v1::NodeConfig& c) {
                   on(c);
                   c.mutable_gateway()->mutable_credentials(0)->set_organisation("");
               }),
               Catch::Contains("gateway.credentials[0].organisation: missing"));
    CHECK_THAT(loaded([&](v1::NodeConfig& c) {
                   on(c);
                   *c.mutable_gateway()->add_credentials() = c.gateway().credentials(0);
               }),
               Catch::Contains("the same token is given twice"));
    CHECK_THAT(loaded([&](v1::NodeConfig& c) {
                   on(c);
                   c.mutable_gateway()->mutable_credentials(0)->set_client_cert_sha256(hash);
               }),
               Catch::Contains("needs gateway.tls"));
    CHECK_THAT(loaded([&](v1::NodeConfig& c) {
                   c.mutable_gateway()->add_credentials()->set_organisation("regulator");
               }),
               Catch::Contains("gateway.listen: missing"));

    // Defaults are filled in only when the gateway is on.
    v1::NodeConfig off = ValidConfig();
    config::ApplyDefaults(off);
    CHECK(off.gateway().max_connections() == 0);
    v1::NodeConfig c = ValidConfig();
    on(c);
    config::ApplyDefaults(c);
    CHECK(c.gateway().max_connections() == config::kDefaultGatewayMaxConnections);
    CHECK(c.gateway().max_body_bytes() == config::kDefaultGatewayMaxBodyBytes);
    CHECK(c.gateway().client_ca_file() == c.tls().ca_file());
}
