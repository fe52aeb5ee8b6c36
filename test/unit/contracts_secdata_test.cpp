// Storage classes (SEC-3, CON-3) and the SecDataAccess protocol (CON-2), with the owner's and
// the requester's off-chain libraries in-process.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "contracts/governance.h"
#include "contracts/sec_data_access.h"
#include "contracts/validity.h"
#include "test/unit/contracts_fixture.h"

using namespace meterchain;
using namespace meterchain::contracts;
using namespace meterchain::contracts::testing;

namespace {

template <typename M>
M QueryAs(const TestChain& chain, std::string_view contract, std::string_view method,
          const std::string& id, RecordType type = v1::RECORD_TYPE_UNSPECIFIED) {
    v1::QueryArgs q;
    q.set_id(id);
    q.set_record_type(type);
    auto bytes = chain.Query(contract, method, q);
    INFO(bytes.status().ToString());
    REQUIRE(bytes.ok());
    M m;
    REQUIRE(m.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
    return m;
}

v1::StoredRecord Stored(const TestChain& chain, RecordType type, const std::string& id) {
    return QueryAs<v1::StoredRecord>(chain, kValidityContract, "Record", id, type);
}

std::string IdOf(RecordType type, const pb::Message& m) {
    auto id = RecordId(type, RecordFields::FromMessage(m));
    REQUIRE(id.ok());
    return *id;
}

// A chain with seeded references, a calibration request CR000007 (digest-only, utility), a
// state evaluation RUN0007 (public, readers utility + regulator) and a sampling record
// SJ20240007 (digest-only, regulator).
struct SecFixture {
    TestChain chain;
    std::unique_ptr<pb::Message> request = SampleRecord(v1::RECORD_CALIBRATION_REQUEST, 7);
    std::unique_ptr<pb::Message> evaluation = SampleRecord(v1::RECORD_STATE_EVALUATION, 7);
    std::unique_ptr<pb::Message> sampling = SampleRecord(v1::RECORD_SAMPLING, 7);
    std::string request_id = IdOf(v1::RECORD_CALIBRATION_REQUEST, *request);
    std::string evaluation_id = IdOf(v1::RECORD_STATE_EVALUATION, *evaluation);
    std::string sampling_id = IdOf(v1::RECORD_SAMPLING, *sampling);
    int m_cred = 0;

    SecFixture() {
        chain.SeedReferences();
        REQUIRE(chain
                    .Upload("utility",
                            {chain.Submit("utility", v1::RECORD_CALIBRATION_REQUEST, *request),
                             chain.Submit("utility", v1::RECORD_STATE_EVALUATION, *evaluation)})
                    .valid());
        REQUIRE(
            chain.Upload("regulator", {chain.Submit("regulator", v1::RECORD_SAMPLING, *sampling)})
                .valid());
    }

    std::string Issue(const std::string& owner, const std::string& grantee,
                      std::vector<RecordType> types, uint64_t lifetime_ms = 3'600'000,
                      v1::Classification max = v1::CLASS_INTERNAL, const std::string& prefix = "") {
        v1::AccessCredential c;
        c.set_credential_id("cred-" + std::to_string(++m_cred));
        c.set_grantee(grantee);
        for (auto t : types) c.add_record_types(t);
        c.set_record_id_prefix(prefix);
        c.set_max_classification(max);
        c.set_not_after_ms(chain.now_ms + lifetime_ms);
        Status st = chain.Call(owner, kSecDataContract, "IssueCredential", c);
        INFO(st.ToString());
        REQUIRE(st.ok());
        return c.credential_id();
    }

    // Sends a SecDataAccess request; returns the recorded decision.
    v1::AccessDecision Request(const std::string& requester, RecordType type, const std::string& id,
                               const std::string& credential, const Bytes& one_time_public_key) {
        v1::AccessRequest req;
        req.set_record_type(type);
        req.set_record_id(id);
        req.set_credential_id(credential);
        req.set_one_time_public_key(ToString(one_time_public_key));
        Hash256 tx;
        Status st = chain.Call(requester, kSecDataContract, "SecDataAccess", req, &tx);
        INFO(st.ToString());
        REQUIRE(st.ok());
        return QueryAs<v1::AccessDecision>(chain, kSecDataContract, "Decision", ToHex(tx));
    }

    std::vector<v1::AccessDecision> Pending(const std::string& owner) {
        auto p = QueryAs<v1::PendingGrants>(chain, kSecDataContract, "PendingGrants", owner);
        return {p.grants().begin(), p.grants().end()};
    }

    // The owner's node: for every pending grant, fetch + encrypt + submit Deliver.
    void OwnerDelivers(const std::string& owner) {
        for (const auto& grant : Pending(owner)) {
            auto stored = Stored(chain, grant.record_type(), grant.record_id());
            auto args = PrepareDelivery(chain.chain_id, grant, stored, chain.vault(owner), owner,
                                        chain.org(owner).key);
            INFO(args.status().ToString());
            REQUIRE(args.ok());
            REQUIRE(chain.Call(owner, kSecDataContract, "Deliver", *args).ok());
        }
    }
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Storage classes

TEST_CASE("storage: public records decrypt for authorised organisations only",
          "[contracts][storage]") {
    SecFixture f;
    auto stored = Stored(f.chain, v1::RECORD_STATE_EVALUATION, f.evaluation_id);
    CHECK(stored.storage_class() == v1::STORAGE_PUBLIC_ENCRYPTED);
    CHECK(stored.owner() == "utility");
    Bytes plain = SerializeProto(*f.evaluation);
    for (const std::string org : {"utility", "regulator"}) {
        auto content =
            OpenPublicRecord(f.chain.chain_id, stored, f.evaluation_id, org, f.chain.org(org).key);
        INFO(org << ": " << content.status().ToString());
        REQUIRE(content.ok());
        CHECK(*content == plain);
    }
    // The institute and the third party have no wrapped key for state evaluations ...
    for (const std::string org : {"institute", "third-party"}) {
        auto content =
            OpenPublicRecord(f.chain.chain_id, stored, f.evaluation_id, org, f.chain.org(org).key);
        CHECK(content.status().code() == StatusCode::kPermissionDenied);
    }
    // ... and cannot use someone else's: the regulator's wrapped key opened with the institute's
    // key.
    auto stolen = stored;
    for (auto& w : *stolen.mutable_wrapped_keys()) w.set_org("institute");
    CHECK(OpenPublicRecord(f.chain.chain_id, stolen, f.evaluation_id, "institute",
                           f.chain.org("institute").key)
              .status()
              .code() == StatusCode::kUnauthenticated);
    // Altered ciphertext does not open.
    auto altered = stored;
    std::string sealed = altered.sealed();
    sealed[20] ^= 1;
    altered.set_sealed(sealed);
    CHECK(OpenPublicRecord(f.chain.chain_id, altered, f.evaluation_id, "utility",
                           f.chain.org("utility").key)
              .status()
              .code() == StatusCode::kUnauthenticated);
    // State holds no plaintext of it.
    for (const auto& [key, value] : f.chain.state.data()) CHECK_FALSE(Contains(value, plain));
}

TEST_CASE("storage: non-public records keep only their SM3 digest on chain",
          "[contracts][storage]") {
    SecFixture f;
    auto stored = Stored(f.chain, v1::RECORD_SAMPLING, f.sampling_id);
    CHECK(stored.storage_class() == v1::STORAGE_DIGEST_ONLY);
    CHECK(stored.sealed().empty());
    CHECK(stored.wrapped_keys().empty());
    Bytes plain = SerializeProto(*f.sampling);
    CHECK(ToBytes(stored.digest()) == ToBytes(crypto::Sm3(plain)));
    const std::string address = static_cast<v1::SamplingRecord&>(*f.sampling).address();
    for (const auto& [key, value] : f.chain.state.data()) {
        CHECK_FALSE(Contains(value, AsBytes(address)));
    }
    // Nor did the plaintext travel in any transaction.
    for (const auto& payload : f.chain.payloads) CHECK_FALSE(Contains(payload, AsBytes(address)));

    // Digest-only submissions must not carry content.
    auto sub =
        f.chain.Submit("regulator", v1::RECORD_SAMPLING, *SampleRecord(v1::RECORD_SAMPLING, 8));
    sub.set_content(ToString(plain));
    auto r = f.chain.Upload("regulator", {sub});
    CHECK(r.results(0).rule_id() == kCheckStorage);
}

TEST_CASE("storage: off-chain data is re-hashed before display, tampering is reported",
          "[contracts][storage][offchain]") {
    SecFixture f;
    auto stored = Stored(f.chain, v1::RECORD_SAMPLING, f.sampling_id);
    OffchainVault& vault = f.chain.vault("regulator");
    auto json = vault.ExportJson(v1::RECORD_SAMPLING, f.sampling_id, AsBytes(stored.digest()));
    REQUIRE(json.ok());
    CHECK_THAT(*json, Catch::Contains("SJ20240007") && Catch::Contains("barCode"));

    SECTION("in memory") {
        MemoryRecordStore store;
        OffchainVault v(store);
        Bytes plain = SerializeProto(*f.sampling);
        REQUIRE(v.Keep(v1::RECORD_SAMPLING, f.sampling_id, plain).ok());
        CHECK(v.LoadVerified(v1::RECORD_SAMPLING, f.sampling_id, AsBytes(stored.digest())).ok());
        auto tampered = static_cast<const v1::SamplingRecord&>(*f.sampling);
        tampered.set_result("不合格");
        store.Overwrite(OffchainVault::StoreKey(v1::RECORD_SAMPLING, f.sampling_id),
                        SerializeProto(tampered));
        auto loaded = v.LoadVerified(v1::RECORD_SAMPLING, f.sampling_id, AsBytes(stored.digest()));
        CHECK(loaded.status().code() == StatusCode::kCorruption);
        CHECK_THAT(loaded.status().message(), Catch::Contains("tampering"));
        CHECK(v.ExportJson(v1::RECORD_SAMPLING, f.sampling_id, AsBytes(stored.digest()))
                  .status()
                  .code() == StatusCode::kCorruption);
    }
    SECTION("on disk") {
        auto dir = std::filesystem::temp_directory_path() /
                   ("mc-offchain-" + ToHex(crypto::RandomBytes(6)));
        {
            DirectoryRecordStore store(dir);
            OffchainVault v(store);
            REQUIRE(v.Keep(v1::RECORD_SAMPLING, f.sampling_id, SerializeProto(*f.sampling)).ok());
            CHECK(
                v.LoadVerified(v1::RECORD_SAMPLING, f.sampling_id, AsBytes(stored.digest())).ok());
            auto path = store.PathOf(OffchainVault::StoreKey(v1::RECORD_SAMPLING, f.sampling_id));
            {
                std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
                file.seekp(3);
                file.put('X');
            }
            auto loaded =
                v.LoadVerified(v1::RECORD_SAMPLING, f.sampling_id, AsBytes(stored.digest()));
            CHECK(loaded.status().code() == StatusCode::kCorruption);
            CHECK(v.LoadVerified(v1::RECORD_SAMPLING, "SJ0|none", AsBytes(stored.digest()))
                      .status()
                      .code() == StatusCode::kNotFound);
        }
        std::filesystem::remove_all(dir);
    }
}

// ---------------------------------------------------------------------------------------------
// SecDataAccess

TEST_CASE("secdata: granted requests are delivered encrypted to the one-time key, end to end",
          "[contracts][secdata]") {
    SecFixture f;
    SECTION("digest-only record from the owner's off-chain store") {
        auto cred = f.Issue("utility", "regulator", {v1::RECORD_CALIBRATION_REQUEST});
        auto otk = crypto::Sm2PrivateKey::Generate();
        auto d = f.Request("regulator", v1::RECORD_CALIBRATION_REQUEST, f.request_id, cred,
                           otk.PublicKey().Raw());
        INFO(d.reason_code() << " " << d.reason());
        REQUIRE(d.granted());
        CHECK(d.owner() == "utility");
        CHECK(d.requester() == "regulator");
        auto pending = f.Pending("utility");
        REQUIRE(pending.size() == 1);
        CHECK(pending[0].request_id() == d.request_id());

        f.OwnerDelivers("utility");
        CHECK(f.Pending("utility").empty());
        auto decision =
            QueryAs<v1::AccessDecision>(f.chain, kSecDataContract, "Decision", d.request_id());
        CHECK(decision.delivered());
        auto delivery =
            QueryAs<v1::EncryptedDelivery>(f.chain, kSecDataContract, "Delivery", d.request_id());
        auto content = OpenDelivery(decision, delivery, otk);
        INFO(content.status().ToString());
        REQUIRE(content.ok());
        CHECK(*content == SerializeProto(*f.request));
        v1::CalibrationRequest got;
        REQUIRE(got.ParseFromArray(content->data(), static_cast<int>(content->size())));
        CHECK(got.request_no() == "CR000007");

        // Nobody else's key opens it, and altered ciphertext is detected.
        auto other = crypto::Sm2PrivateKey::Generate();
        CHECK_FALSE(OpenDelivery(decision, delivery, other).ok());
        auto altered = delivery;
        std::string sealed = altered.sealed();
        sealed[sealed.size() / 2] ^= 0x40;
        altered.set_sealed(sealed);
        CHECK(OpenDelivery(decision, altered, otk).status().code() == StatusCode::kUnauthenticated);
        // A second delivery is refused.
        auto stored = Stored(f.chain, v1::RECORD_CALIBRATION_REQUEST, f.request_id);
        auto again = PrepareDelivery(f.chain.chain_id, decision, stored, f.chain.vault("utility"),
                                     "utility", f.chain.org("utility").key);
        REQUIRE(again.ok());
        CHECK(f.chain.Call("utility", kSecDataContract, "Deliver", *again).code() ==
              StatusCode::kFailedPrecondition);
    }
    SECTION("public record re-encrypted by its owner for an organisation without a wrapped key") {
        auto cred = f.Issue("utility", "institute", {v1::RECORD_STATE_EVALUATION}, 3'600'000,
                            v1::CLASS_SHARED);
        auto otk = crypto::Sm2PrivateKey::Generate();
        auto d = f.Request("institute", v1::RECORD_STATE_EVALUATION, f.evaluation_id, cred,
                           otk.PublicKey().Raw());
        INFO(d.reason_code() << " " << d.reason());
        REQUIRE(d.granted());
        f.OwnerDelivers("utility");
        auto decision =
            QueryAs<v1::AccessDecision>(f.chain, kSecDataContract, "Decision", d.request_id());
        auto delivery =
            QueryAs<v1::EncryptedDelivery>(f.chain, kSecDataContract, "Delivery", d.request_id());
        auto content = OpenDelivery(decision, delivery, otk);
        REQUIRE(content.ok());
        CHECK(*content == SerializeProto(*f.evaluation));
    }
    SECTION("the regulator's sampling record for the institute") {
        auto cred = f.Issue("regulator", "institute", {v1::RECORD_SAMPLING});
        auto otk = crypto::Sm2PrivateKey::Generate();
        auto d =
            f.Request("institute", v1::RECORD_SAMPLING, f.sampling_id, cred, otk.PublicKey().Raw());
        REQUIRE(d.granted());
        f.OwnerDelivers("regulator");
        auto decision =
            QueryAs<v1::AccessDecision>(f.chain, kSecDataContract, "Decision", d.request_id());
        auto delivery =
            QueryAs<v1::EncryptedDelivery>(f.chain, kSecDataContract, "Delivery", d.request_id());
        auto content = OpenDelivery(decision, delivery, otk);
        REQUIRE(content.ok());
        CHECK(*content == SerializeProto(*f.sampling));
    }
    // CON-2: no private key ever entered a contract call (credentials, requests, deliveries,
    // uploads), and no one-time private key either.
    for (const auto& [name, org] : f.chain.orgs) {
        Bytes scalar = PrivateScalar(org.key);
        for (const auto& payload : f.chain.payloads) CHECK_FALSE(Contains(payload, scalar));
        for (const auto& [key, value] : f.chain.state.data()) CHECK_FALSE(Contains(value, scalar));
    }
}

TEST_CASE("secdata: requests are refused with the reason recorded on chain",
          "[contracts][secdata]") {
    SecFixture f;
    const RecordType cr = v1::RECORD_CALIBRATION_REQUEST;
    auto fresh_key = [] { return crypto::Sm2PrivateKey::Generate().PublicKey().Raw(); };
    auto expect_refused = [&](const v1::AccessDecision& d, std::string_view code) {
        INFO(d.reason());
        CHECK_FALSE(d.granted());
        CHECK(d.reason_code() == code);
        CHECK_FALSE(d.reason().empty());
        CHECK(f.Pending("utility").empty());
        v1::DeliverArgs deliver;
        deliver.set_request_id(d.request_id());
        deliver.mutable_delivery()->set_wrapped_key("k");
        deliver.mutable_delivery()->set_sealed("s");
        CHECK(f.chain.Call("utility", kSecDataContract, "Deliver", deliver).code() ==
              StatusCode::kFailedPrecondition);
    };

    SECTION("expired credential") {
        auto cred = f.Issue("utility", "regulator", {cr}, 5000);
        f.chain.now_ms += 10'000;
        expect_refused(f.Request("regulator", cr, f.request_id, cred, fresh_key()), kRefuseExpired);
    }
    SECTION("revoked credential") {
        auto cred = f.Issue("utility", "regulator", {cr});
        v1::RevokeCredentialArgs revoke;
        revoke.set_credential_id(cred);
        CHECK(f.chain.Call("regulator", kSecDataContract, "RevokeCredential", revoke).code() ==
              StatusCode::kPermissionDenied);  // only the issuer revokes
        REQUIRE(f.chain.Call("utility", kSecDataContract, "RevokeCredential", revoke).ok());
        expect_refused(f.Request("regulator", cr, f.request_id, cred, fresh_key()), kRefuseRevoked);
    }
    SECTION("wrong scope: record type") {
        auto cred = f.Issue("utility", "regulator", {v1::RECORD_CALIBRATION_HANDLING});
        expect_refused(f.Request("regulator", cr, f.request_id, cred, fresh_key()), kRefuseScope);
    }
    SECTION("wrong scope: record id prefix") {
        auto cred = f.Issue("utility", "regulator", {cr}, 3'600'000, v1::CLASS_INTERNAL, "CR9");
        expect_refused(f.Request("regulator", cr, f.request_id, cred, fresh_key()), kRefuseScope);
    }
    SECTION("wrong requester") {
        auto cred = f.Issue("utility", "regulator", {cr});
        expect_refused(f.Request("third-party", cr, f.request_id, cred, fresh_key()),
                       kRefuseWrongRequester);
    }
    SECTION("credential not issued by the data owner") {
        auto cred = f.Issue("institute", "regulator", {cr});
        expect_refused(f.Request("regulator", cr, f.request_id, cred, fresh_key()),
                       kRefuseWrongIssuer);
    }
    SECTION("replayed one-time key") {
        auto cred = f.Issue("utility", "regulator", {cr});
        Bytes otk = fresh_key();
        auto first = f.Request("regulator", cr, f.request_id, cred, otk);
        REQUIRE(first.granted());
        f.OwnerDelivers("utility");
        expect_refused(f.Request("regulator", cr, f.request_id, cred, otk),
                       kRefuseOneTimeKeyReused);
    }
    SECTION("a one-time key consumed by a refused request cannot be reused either") {
        auto cred = f.Issue("utility", "regulator", {cr});
        Bytes otk = fresh_key();
        expect_refused(f.Request("regulator", cr, "CR999999", cred, otk), kRefuseNoData);
        expect_refused(f.Request("regulator", cr, f.request_id, cred, otk),
                       kRefuseOneTimeKeyReused);
    }
    SECTION("not a public key") {
        auto cred = f.Issue("utility", "regulator", {cr});
        Bytes junk(65, 0x04);
        expect_refused(f.Request("regulator", cr, f.request_id, cred, junk), kRefuseOneTimeKey);
    }
    SECTION("classification above the credential's ceiling") {
        auto cred = f.Issue("utility", "regulator", {cr}, 3'600'000, v1::CLASS_SHARED);
        expect_refused(f.Request("regulator", cr, f.request_id, cred, fresh_key()),
                       kRefuseClassification);
    }
    SECTION("owner policy does not allow the requester's role") {
        auto cred = f.Issue("utility", "third-party", {cr});
        expect_refused(f.Request("third-party", cr, f.request_id, cred, fresh_key()),
                       kRefusePolicy);
    }
    SECTION("unknown credential") {
        expect_refused(f.Request("regulator", cr, f.request_id, "nope", fresh_key()),
                       kRefuseNoCredential);
    }
    SECTION("a non-organisation cannot request at all") {
        v1::AccessRequest req;
        req.set_record_type(cr);
        req.set_record_id(f.request_id);
        CHECK(f.chain.Call("outsider", kSecDataContract, "SecDataAccess", req).code() ==
              StatusCode::kPermissionDenied);
    }
}

TEST_CASE("secdata: only the owner delivers, tampered data is never delivered",
          "[contracts][secdata]") {
    SecFixture f;
    const RecordType cr = v1::RECORD_CALIBRATION_REQUEST;
    auto cred = f.Issue("utility", "regulator", {cr});
    auto otk = crypto::Sm2PrivateKey::Generate();
    auto d = f.Request("regulator", cr, f.request_id, cred, otk.PublicKey().Raw());
    REQUIRE(d.granted());
    auto stored = Stored(f.chain, cr, f.request_id);

    // The owner's off-chain copy was altered: PrepareDelivery refuses.
    MemoryRecordStore store;
    OffchainVault vault(store);
    auto tampered = static_cast<const v1::CalibrationRequest&>(*f.request);
    tampered.set_description("altered");
    REQUIRE(vault.Keep(cr, f.request_id, SerializeProto(tampered)).ok());
    auto args =
        PrepareDelivery(f.chain.chain_id, d, stored, vault, "utility", f.chain.org("utility").key);
    CHECK(args.status().code() == StatusCode::kCorruption);
    // Even encrypting it directly is refused against the granted digest.
    CHECK(BuildDelivery(d, SerializeProto(tampered)).status().code() == StatusCode::kCorruption);

    // Another organisation cannot deliver for the owner.
    auto good = PrepareDelivery(f.chain.chain_id, d, stored, f.chain.vault("utility"), "utility",
                                f.chain.org("utility").key);
    REQUIRE(good.ok());
    CHECK(f.chain.Call("regulator", kSecDataContract, "Deliver", *good).code() ==
          StatusCode::kPermissionDenied);
    REQUIRE(f.chain.Call("utility", kSecDataContract, "Deliver", *good).ok());
}

TEST_CASE("secdata: credentials and policies are set by the owner only", "[contracts][secdata]") {
    SecFixture f;
    v1::AccessCredential c;
    c.set_credential_id("x");
    c.set_owner("utility");  // claims to be the utility
    c.set_grantee("institute");
    c.add_record_types(v1::RECORD_CALIBRATION_REQUEST);
    c.set_max_classification(v1::CLASS_INTERNAL);
    c.set_not_after_ms(f.chain.now_ms + 100000);
    CHECK(f.chain.Call("regulator", kSecDataContract, "IssueCredential", c).code() ==
          StatusCode::kPermissionDenied);
    c.clear_owner();
    REQUIRE(f.chain.Call("utility", kSecDataContract, "IssueCredential", c).ok());
    CHECK(f.chain.Call("utility", kSecDataContract, "IssueCredential", c).code() ==
          StatusCode::kAlreadyExists);
    c.set_credential_id("y");
    c.set_not_after_ms(1);
    CHECK(f.chain.Call("utility", kSecDataContract, "IssueCredential", c).code() ==
          StatusCode::kInvalidArgument);

    // The utility opens calibration requests to the third party; now the request is granted.
    v1::AccessPolicy policy;
    policy.set_record_type(v1::RECORD_CALIBRATION_REQUEST);
    policy.add_allowed_roles("regulator");
    policy.add_allowed_roles("third-party");
    REQUIRE(f.chain.Call("utility", kSecDataContract, "SetAccessPolicy", policy).ok());
    auto cred = f.Issue("utility", "third-party", {v1::RECORD_CALIBRATION_REQUEST});
    auto d = f.Request("third-party", v1::RECORD_CALIBRATION_REQUEST, f.request_id, cred,
                       crypto::Sm2PrivateKey::Generate().PublicKey().Raw());
    CHECK(d.granted());
}
