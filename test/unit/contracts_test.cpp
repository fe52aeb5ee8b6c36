// Contracts: genesis, governance, permissions, the Validity contract and its rule engine
// (CON-1, DATA-1..5). Secure read and storage classes: contracts_secdata_test.cpp.
#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>

#include "contracts/governance.h"
#include "contracts/rules.h"
#include "contracts/validity.h"
#include "node/chain/types.h"
#include "test/unit/contracts_fixture.h"

using namespace meterchain;
using namespace meterchain::contracts;
using namespace meterchain::contracts::testing;

namespace {

// A StateView that counts reads, to show a batch costs O(records) state accesses.
class CountingState : public StateView {
public:
    explicit CountingState(MemoryState& inner) : m_inner(inner) {}
    std::optional<Bytes> Get(std::string_view key) const override {
        ++gets;
        return m_inner.Get(key);
    }
    void Put(std::string_view key, ByteView value) override { m_inner.Put(key, value); }
    void Delete(std::string_view key) override { m_inner.Delete(key); }
    void Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const override {
        ++scans;
        m_inner.Scan(prefix, fn);
    }
    mutable uint64_t gets = 0;
    mutable uint64_t scans = 0;

private:
    MemoryState& m_inner;
};

std::vector<std::pair<bool, std::string>> Outcomes(const v1::ValidityResult& r) {
    std::vector<std::pair<bool, std::string>> out;
    for (const auto& e : r.results()) out.emplace_back(e.valid(), e.rule_id());
    return out;
}

bool RecordStored(const TestChain& chain, RecordType type, const std::string& id) {
    return chain.state.Get(RecordStateKey(type, id)).has_value();
}

std::string IdOf(RecordType type, const pb::Message& m) {
    auto id = RecordId(type, RecordFields::FromMessage(m));
    REQUIRE(id.ok());
    return *id;
}

// A public submission like `like` (same readers) whose sealed plaintext is `content`, any bytes,
// sealed for record id `id` and enveloped under the chain validation key.
v1::RecordSubmission SealRaw(const TestChain& chain, const v1::RecordSubmission& like,
                             ByteView content, const std::string& id) {
    Bytes key = crypto::RandomBytes(crypto::kSealKeySize);
    auto s = like;
    s.set_sealed(ToString(crypto::Seal(key, content, RecordAad(chain.chain_id, like.type(), id))));
    s.set_validation_envelope(ToString(chain.validation_key.Seal(
        EncodeValidationEnvelope(key, id), ValidationAad(chain.chain_id, like.type()))));
    return s;
}

v1::GovernanceAction PermissionAction(const std::string& role, RecordType type, bool write,
                                      bool read) {
    v1::GovernanceAction a;
    auto* p = a.mutable_set_permission();
    p->set_role(role);
    p->set_record_type(type);
    p->set_write(write);
    p->set_read(read);
    return a;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Genesis

TEST_CASE("genesis: deploy/genesis.json with keys filled in gives identical writes on every node",
          "[contracts][genesis]") {
    TestChain chain;
    std::string json;
    REQUIRE(google::protobuf::util::MessageToJsonString(chain.genesis, &json).ok());
    auto a = GenesisWrites(json);
    auto b = GenesisWrites(json);
    INFO(a.status().ToString());
    REQUIRE(a.ok());
    REQUIRE(b.ok());
    CHECK(*a == *b);
    CHECK(chain::WriteSetDigest(*a) == chain::WriteSetDigest(*b));

    MemoryState state;
    for (const auto& [k, v] : *a) state.Put(k, *v);
    auto orgs = ListOrganisations(state);
    REQUIRE(orgs.ok());
    CHECK(orgs->size() == 5);
    auto rules = LoadCurrentRuleSet(state);
    REQUIRE(rules.ok());
    CHECK(rules->version() == 1);
    CHECK(rules->rules_size() == chain.genesis.rule_set().rules_size());
    auto quorum = EffectiveQuorum(state);
    REQUIRE(quorum.ok());
    CHECK(*quorum == 3);  // majority of 5
    // Every record type has a storage policy.
    for (RecordType t : AllRecordTypes()) CHECK(FindRecordPolicy(state, t)->has_value());
}

TEST_CASE("genesis: errors name the bad field", "[contracts][genesis]") {
    std::string raw = ReadFile(SourcePath("deploy/genesis.json"));
    SECTION("public keys not filled in yet") {
        auto r = GenesisWrites(raw);
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.status().message(),
                   Catch::Contains("organisations[0] (utility)") && Catch::Contains("public_key"));
    }
    SECTION("unknown JSON field") {
        auto r = GenesisWrites(R"({"organisations": [], "organisationz": 1})");
        REQUIRE_FALSE(r.ok());
        CHECK(r.status().code() == StatusCode::kInvalidArgument);
        CHECK_THAT(r.status().message(), Catch::Contains("organisationz"));
    }
    SECTION("wrong JSON type") {
        auto r = GenesisWrites(R"({"governanceQuorum": "many"})");
        REQUIRE_FALSE(r.ok());
        CHECK_THAT(r.status().message(),
                   Catch::Contains("governanceQuorum") || Catch::Contains("governance_quorum"));
    }
    TestChain chain;
    SECTION("rule naming a field the record type lacks") {
        auto g = chain.genesis;
        g.mutable_rule_set()->mutable_rules(3)->set_field("noSuchField");
        MemoryState s;
        Status st = ApplyContractsGenesis(g, s);
        CHECK_THAT(st.message(), Catch::Contains("rule_set") && Catch::Contains("noSuchField") &&
                                     Catch::Contains(g.rule_set().rules(3).id()));
    }
    SECTION("more required validator signatures than validators") {
        auto g = chain.genesis;
        g.mutable_validity()->set_required_validator_signatures(5);
        MemoryState s;
        CHECK_THAT(ApplyContractsGenesis(g, s).message(),
                   Catch::Contains("validity.required_validator_signatures"));
    }
    SECTION("validation key check without wrapped keys, or the other way round") {
        auto g = chain.genesis;
        g.clear_validation_keys();
        MemoryState s;
        CHECK_THAT(ApplyContractsGenesis(g, s).message(), Catch::Contains("validation_key_check"));
        auto h = chain.genesis;
        h.clear_validation_key_check();
        MemoryState t;
        CHECK_THAT(ApplyContractsGenesis(h, t).message(), Catch::Contains("validation_key_check"));
    }
    SECTION("a validation key holder listed twice") {
        auto g = chain.genesis;
        *g.add_validation_keys() = g.validation_keys(0);
        MemoryState s;
        CHECK_THAT(ApplyContractsGenesis(g, s).message(),
                   Catch::Contains("validation_keys[4]") && Catch::Contains("duplicate"));
    }
    SECTION("institution operated by an unknown organisation") {
        auto g = chain.genesis;
        g.mutable_institutions(0)->set_org("nobody");
        MemoryState s;
        CHECK_THAT(ApplyContractsGenesis(g, s).message(), Catch::Contains("institutions[0]"));
    }
    SECTION("two organisations with one key") {
        auto g = chain.genesis;
        g.mutable_organisations(1)->set_public_key(g.organisations(0).public_key());
        MemoryState s;
        CHECK_THAT(ApplyContractsGenesis(g, s).message(),
                   Catch::Contains("organisations[1] (regulator)") &&
                       Catch::Contains("already registered"));
    }
}

// ---------------------------------------------------------------------------------------------
// Governance

TEST_CASE("governance: a proposal executes only when a quorum of organisations approved",
          "[contracts][governance]") {
    TestChain chain;
    v1::ProposeArgs propose;
    *propose.add_actions() = PermissionAction("third-party", v1::RECORD_SAMPLING, true, false);
    propose.set_description("let the third party upload sampling records");
    Hash256 tx;
    REQUIRE(chain.Call("utility", kGovernanceContract, "Propose", propose, &tx).ok());
    v1::ApproveArgs approve;
    approve.set_proposal_id(ToHex(tx));

    auto org = FindOrganisation(chain.state, "third-party");
    REQUIRE(org.ok());
    auto can_write = [&] {
        auto m = AccessMatrix::Load(chain.state);
        REQUIRE(m.ok());
        return m->CanWrite(**org, v1::RECORD_SAMPLING);
    };
    CHECK_FALSE(can_write());
    // Approving twice, or as a non-organisation, is refused.
    CHECK(chain.Call("utility", kGovernanceContract, "Approve", approve).code() ==
          StatusCode::kAlreadyExists);
    CHECK(chain.Call("outsider", kGovernanceContract, "Approve", approve).code() ==
          StatusCode::kPermissionDenied);
    REQUIRE(chain.Call("regulator", kGovernanceContract, "Approve", approve).ok());
    CHECK_FALSE(can_write());  // 2 of 5, quorum 3
    REQUIRE(chain.Call("institute", kGovernanceContract, "Approve", approve).ok());
    CHECK(can_write());
    CHECK(chain.Call("auditor", kGovernanceContract, "Approve", approve).code() ==
          StatusCode::kFailedPrecondition);  // already executed

    v1::QueryArgs q;
    q.set_id(ToHex(tx));
    auto bytes = chain.Query(kGovernanceContract, "Proposal", q);
    REQUIRE(bytes.ok());
    v1::Proposal proposal;
    REQUIRE(proposal.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
    CHECK(proposal.executed());
    CHECK(std::vector<std::string>(proposal.approvals().begin(), proposal.approvals().end()) ==
          std::vector<std::string>{"institute", "regulator", "utility"});
}

TEST_CASE("governance: invalid or expired proposals are refused", "[contracts][governance]") {
    TestChain chain;
    SECTION("an action that cannot apply is refused at proposal time") {
        v1::ProposeArgs propose;
        auto* a = propose.add_actions()->mutable_upsert_institution();
        a->set_inst_id("TJ-NEW");
        a->set_name("new station");
        a->set_org("nobody");
        Status st = chain.Call("utility", kGovernanceContract, "Propose", propose);
        CHECK(st.code() == StatusCode::kInvalidArgument);
        CHECK_THAT(st.message(), Catch::Contains("actions[0]"));
    }
    SECTION("a rule set must be the next version") {
        v1::ProposeArgs propose;
        auto rules = chain.genesis.rule_set();
        rules.set_version(5);
        *propose.add_actions()->mutable_set_rule_set() = rules;
        CHECK_THAT(chain.Call("utility", kGovernanceContract, "Propose", propose).message(),
                   Catch::Contains("version must be 2"));
    }
    SECTION("approvals after expiry are refused") {
        v1::ProposeArgs propose;
        *propose.add_actions() = PermissionAction("auditor", v1::RECORD_METER_ASSET, false, true);
        propose.set_expires_at_ms(chain.now_ms + 1500);
        Hash256 tx;
        REQUIRE(chain.Call("utility", kGovernanceContract, "Propose", propose, &tx).ok());
        chain.now_ms += 10'000;
        v1::ApproveArgs approve;
        approve.set_proposal_id(ToHex(tx));
        CHECK(chain.Call("regulator", kGovernanceContract, "Approve", approve).code() ==
              StatusCode::kFailedPrecondition);
    }
}

TEST_CASE("governance: a new rule set version takes effect and old signatures stop working",
          "[contracts][governance][validity]") {
    TestChain chain;
    chain.SeedReferences();
    auto rules = chain.genesis.rule_set();
    rules.set_version(2);
    for (auto& r : *rules.mutable_rules()) {
        if (r.id() == "MA-ENUM-STATE") {
            r.clear_allowed();
            r.add_allowed("运行");  // in service only
        }
    }
    v1::ProposeArgs propose;
    *propose.add_actions()->mutable_set_rule_set() = rules;
    Hash256 tx;
    REQUIRE(chain.Call("utility", kGovernanceContract, "Propose", propose, &tx).ok());
    v1::ApproveArgs approve;
    approve.set_proposal_id(ToHex(tx));
    REQUIRE(chain.Call("regulator", kGovernanceContract, "Approve", approve).ok());

    // The validators sign against version 1; the rule change executes before the upload.
    auto meter = SampleRecord(v1::RECORD_METER_ASSET, 7);
    static_cast<v1::MeterAsset&>(*meter).set_state("库存");
    auto old_sub =
        chain.MakeSubmission("utility", {chain.Submit("utility", v1::RECORD_METER_ASSET, *meter)},
                             {"third-party", "regulator"});
    REQUIRE(chain.Call("institute", kGovernanceContract, "Approve", approve).ok());
    CHECK(chain.RuleSetVersion() == 2);

    Hash256 upload_tx;
    REQUIRE(chain.Call("utility", kValidityContract, "Validity", old_sub, &upload_tx).ok());
    v1::QueryArgs q;
    q.set_id(ToHex(upload_tx));
    v1::ValidityResult result;
    auto bytes = chain.Query(kValidityContract, "Result", q);
    REQUIRE(bytes.ok());
    REQUIRE(result.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
    CHECK_FALSE(result.valid());
    CHECK(result.results(0).rule_id() == kCheckRuleSetVersion);

    // Re-signed against version 2, the changed rule applies.
    result = chain.Upload("utility", {chain.Submit("utility", v1::RECORD_METER_ASSET, *meter)});
    CHECK(Outcomes(result) == std::vector<std::pair<bool, std::string>>{{false, "MA-ENUM-STATE"}});
}

// ---------------------------------------------------------------------------------------------
// Permissions: role x record type

TEST_CASE("permissions: every role x record type is allowed or refused as the genesis says",
          "[contracts][permissions]") {
    TestChain chain;
    chain.SeedReferences();
    std::set<std::pair<std::string, int>> writable;
    for (const auto& p : chain.genesis.permissions()) {
        if (p.write()) writable.emplace(p.role(), p.record_type());
    }
    CHECK(writable.count({"institute", v1::RECORD_VERIFICATION_RESULT}) == 1);
    CHECK(writable.count({"regulator", v1::RECORD_SAMPLING}) == 1);

    const std::vector<std::string> uploaders = {"utility", "regulator", "third-party", "institute",
                                                "auditor"};
    int allowed = 0, refused = 0;
    for (RecordType type : AllRecordTypes()) {
        for (const auto& uploader : uploaders) {
            auto org = FindOrganisation(chain.state, uploader);
            REQUIRE(org.ok());
            bool expect = false;
            for (const auto& role : (*org)->roles()) expect |= writable.count({role, type}) != 0;
            auto record = SampleRecord(type, FreshSampleIndex(type));
            auto result = chain.Upload(uploader, {chain.Submit(uploader, type, *record)});
            INFO(uploader << " x " << RecordTypeName(type) << ": " << result.results(0).rule_id()
                          << " " << result.results(0).reason());
            REQUIRE(result.results_size() == 1);
            if (expect) {
                CHECK(result.results(0).valid());
                CHECK(RecordStored(chain, type, IdOf(type, *record)));
                ++allowed;
            } else {
                CHECK_FALSE(result.results(0).valid());
                CHECK(result.results(0).rule_id() == kCheckPermission);
                ++refused;
            }
        }
    }
    CHECK(allowed == 12);  // each record type has exactly one writer role in the default genesis
    CHECK(refused == 12 * 5 - 12);

    SECTION("a signer that is not an organisation cannot call at all") {
        auto sub = chain.MakeSubmission("outsider",
                                        {chain.Submit("utility", v1::RECORD_METER_ASSET,
                                                      *SampleRecord(v1::RECORD_METER_ASSET, 9))},
                                        {"third-party", "regulator"});
        CHECK(chain.Call("outsider", kValidityContract, "Validity", sub).code() ==
              StatusCode::kPermissionDenied);
    }
}

TEST_CASE("permissions: a contract call travels as a signed transaction, the signer is the sender",
          "[contracts][permissions]") {
    TestChain chain;
    v1::ProposeArgs propose;
    *propose.add_actions() = PermissionAction("auditor", v1::RECORD_METER_ASSET, false, true);
    const Org& utility = chain.org("utility");
    chain::Transaction tx = SignContractCall(chain.chain_id, 1, chain.now_ms, kGovernanceContract,
                                             "Propose", propose, *utility.signer);
    crypto::Sm2Verifier verifier;
    auto body = chain::VerifyTransaction(tx, verifier);
    REQUIRE(body.ok());
    CHECK(body->type == static_cast<uint32_t>(chain::TxType::kContractCall));
    CHECK(body->sender == utility.public_key);
    CallContext ctx;
    ctx.chain_id = chain.chain_id;
    ctx.sender = body->sender;
    ctx.tx_hash = tx.Hash();
    ctx.height = 2;
    ctx.block_timestamp_ms = chain.now_ms;
    REQUIRE(DispatchContractCall(chain.registry, ctx, body->payload, chain.state).ok());
    v1::QueryArgs q;
    q.set_id(ToHex(tx.Hash()));
    CHECK(chain.Query(kGovernanceContract, "Proposal", q).ok());
    // Unknown contract and method.
    CHECK(DispatchContractCall(chain.registry, ctx, ContractCallPayload("nope", "X", propose),
                               chain.state)
              .code() == StatusCode::kNotFound);
    CHECK(chain.Call("utility", kValidityContract, "Nope", propose).code() ==
          StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Rules: every rule of the default rule set, passing and failing

namespace {

// Mutates `m` so that it violates `rule` (and only that rule's check, evaluated alone).
void Violate(const v1::ValidityRule& rule, pb::Message& m, StateRuleEnvironment& env,
             RecordType type, const std::string& id) {
    switch (rule.kind()) {
        case v1::RULE_REQUIRED:
            ClearField(m, rule.field());
            break;
        case v1::RULE_FORMAT:
            if (rule.charset() != v1::CHARSET_UNSPECIFIED) {
                SetField(m, rule.field(),
                         std::string(std::max<uint32_t>(rule.min_length(), 1), '#'));
            } else {
                SetField(m, rule.field(), std::string(rule.min_length() + 1, 'z'));
            }
            break;
        case v1::RULE_DATE: {
            std::string v = rule.layout();  // 29 February of a non-leap year
            auto put = [&](std::string_view token, std::string_view value) {
                auto pos = v.find(token);
                if (pos != std::string::npos) v.replace(pos, token.size(), value);
            };
            put("YYYY", "2023"), put("MM", "02"), put("DD", "29"), put("hh", "10"), put("mm", "00"),
                put("ss", "00");
            SetField(m, rule.field(), v);
            break;
        }
        case v1::RULE_ENUM:
            SetField(m, rule.field(), "??");
            break;
        case v1::RULE_OVERALL_CONSISTENT:
            SetField(m, rule.fields(0), rule.unqualified());
            break;
        case v1::RULE_TABLE_NAMES: {
            auto& r = dynamic_cast<v1::VerificationResult&>(m);
            *r.add_table_names() = r.table_names(0);
            break;
        }
        case v1::RULE_REFERENCE:
            SetField(m, rule.field(),
                     rule.field() == "barCode" ? SampleBarCode(999999) : "UNREGISTERED");
            break;
        case v1::RULE_INSTITUTION_AUTHORISED:
            SetField(m, rule.field(), "TJ-NOPE");
            break;
        case v1::RULE_NO_DUPLICATE:
            env.Accept(type, id);
            break;
        case v1::RULE_CODE_NAME:
            SetField(m, rule.fields(0), "??");
            break;
        case v1::RULE_DATE_PLAUSIBLE:  // a date after the block time
            env.SetBlockTime(1'767'225'600'000);
            SetField(m, rule.field(), "2031-01-01 00:00:00");
            break;
        default:
            FAIL("unhandled rule kind " << rule.kind());
    }
}

std::string WriterOf(RecordType type) {
    switch (type) {
        case v1::RECORD_VERIFICATION_RESULT:
            return "institute";
        case v1::RECORD_SAMPLING:
            return "regulator";
        default:
            return "utility";
    }
}

}  // namespace

TEST_CASE("rules: every default rule has a passing and a failing case", "[contracts][rules]") {
    TestChain chain;
    chain.SeedReferences();
    std::set<int> kinds;
    int checked = 0;
    for (const v1::ValidityRule& rule : chain.genesis.rule_set().rules()) {
        INFO("rule " << rule.id());
        RecordType type = rule.record_type();
        v1::RuleSet single;
        single.set_version(1);
        *single.add_rules() = rule;
        auto compiled = CompiledRules::Compile(single);
        REQUIRE(compiled.ok());

        auto record = SampleRecord(type, FreshSampleIndex(type));
        std::string id = IdOf(type, *record);
        StateRuleEnvironment pass_env(chain.state, WriterOf(type));
        auto pass = compiled->Check(type, id, RecordFields::FromMessage(*record), pass_env);
        REQUIRE(pass.ok());
        CHECK_FALSE(pass->has_value());

        StateRuleEnvironment fail_env(chain.state, WriterOf(type));
        Violate(rule, *record, fail_env, type, id);
        auto fields = RecordFields::FromMessage(*record);
        auto fail = compiled->Check(type, id, fields, fail_env);
        REQUIRE(fail.ok());
        REQUIRE(fail->has_value());
        CHECK((*fail)->rule_id == rule.id());
        CHECK_FALSE((*fail)->reason.empty());
        kinds.insert(rule.kind());
        ++checked;
    }
    CHECK(checked == chain.genesis.rule_set().rules_size());
    CHECK(kinds.size() == 11);  // every rule kind is used by the default set
}

TEST_CASE("rules: the full default rule set accepts a sample record of every type",
          "[contracts][rules]") {
    TestChain chain;
    chain.SeedReferences();
    auto compiled = CompiledRules::Compile(chain.genesis.rule_set());
    REQUIRE(compiled.ok());
    for (RecordType type : AllRecordTypes()) {
        auto record = SampleRecord(type, FreshSampleIndex(type));
        StateRuleEnvironment env(chain.state, WriterOf(type));
        auto v =
            compiled->Check(type, IdOf(type, *record), RecordFields::FromMessage(*record), env);
        REQUIRE(v.ok());
        INFO(RecordTypeName(type) << ": "
                                  << (v->has_value() ? (*v)->rule_id + " " + (*v)->reason : ""));
        CHECK_FALSE(v->has_value());
    }
}

TEST_CASE("rules: date layouts check the calendar", "[contracts][rules]") {
    CHECK(MatchesDateLayout("2024-02-29", "YYYY-MM-DD"));
    CHECK_FALSE(MatchesDateLayout("2023-02-29", "YYYY-MM-DD"));
    CHECK(MatchesDateLayout("2000-02-29", "YYYY-MM-DD"));
    CHECK_FALSE(MatchesDateLayout("1900-02-29", "YYYY-MM-DD"));
    CHECK_FALSE(MatchesDateLayout("2024-04-31", "YYYY-MM-DD"));
    CHECK_FALSE(MatchesDateLayout("2024-13-01", "YYYY-MM-DD"));
    CHECK_FALSE(MatchesDateLayout("2024-00-10", "YYYY-MM-DD"));
    CHECK(MatchesDateLayout("2024-02-11 10:14:15", "YYYY-MM-DD hh:mm:ss"));
    CHECK_FALSE(MatchesDateLayout("2024-02-11 24:00:00", "YYYY-MM-DD hh:mm:ss"));
    CHECK_FALSE(MatchesDateLayout("2024-02-11 10:60:00", "YYYY-MM-DD hh:mm:ss"));
    CHECK_FALSE(MatchesDateLayout("2024-02-11T10:14:15", "YYYY-MM-DD hh:mm:ss"));
    CHECK_FALSE(MatchesDateLayout("2024-2-11", "YYYY-MM-DD"));
    CHECK_FALSE(MatchesDateLayout("２０２４-02-11", "YYYY-MM-DD"));
}

TEST_CASE("rules: the overall result must agree with the items both ways", "[contracts][rules]") {
    TestChain chain;
    chain.SeedReferences();
    auto compiled = CompiledRules::Compile(chain.genesis.rule_set());
    REQUIRE(compiled.ok());
    auto check = [&](const v1::VerificationResult& r) -> std::string {
        StateRuleEnvironment env(chain.state, "institute");
        auto v =
            compiled->Check(v1::RECORD_VERIFICATION_RESULT, IdOf(v1::RECORD_VERIFICATION_RESULT, r),
                            RecordFields::FromMessage(r), env);
        REQUIRE(v.ok());
        return v->has_value() ? (*v)->rule_id : "";
    };
    auto base = SampleRecord(v1::RECORD_VERIFICATION_RESULT, 3);
    auto r = static_cast<v1::VerificationResult&>(*base);
    CHECK(check(r).empty());
    r.set_veri_result("不合格");  // unqualified overall but every item qualified
    CHECK(check(r) == "VR-CONSISTENT");
    r.set_creeping_conc_code("不合格");
    CHECK(check(r).empty());
    r.set_veri_result("合格");
    CHECK(check(r) == "VR-CONSISTENT");
    // "-" (not tested) does not make a qualified result inconsistent.
    r.set_creeping_conc_code("-");
    CHECK(check(r).empty());
}

// ---------------------------------------------------------------------------------------------
// Validity contract

TEST_CASE("validity: the sample data set validates and only ciphertext reaches state",
          "[contracts][validity]") {
    TestChain chain;
    std::vector<v1::RecordSubmission> meters, results;
    Bytes first_result;  // serialized plaintext of the first verification result
    for (const auto& line : ReadLines("test/data/meters.jsonl")) {
        auto m = ParseRecordJson(v1::RECORD_METER_ASSET, line);
        REQUIRE(m.ok());
        meters.push_back(chain.Submit("utility", v1::RECORD_METER_ASSET, **m));
    }
    int unqualified = 0;
    for (const auto& line : ReadLines("test/data/verification-results.jsonl")) {
        auto r = ParseRecordJson(v1::RECORD_VERIFICATION_RESULT, line);
        REQUIRE(r.ok());
        unqualified += static_cast<v1::VerificationResult&>(**r).veri_result() == "不合格";
        if (first_result.empty()) first_result = SerializeProto(**r);
        results.push_back(chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, **r));
    }
    CHECK(unqualified == 3);
    auto m = chain.Upload("utility", meters);
    CHECK(m.valid());
    CHECK(m.valid_count() == meters.size());
    auto r = chain.Upload("institute", results, {"utility", "third-party", "regulator"});
    CHECK(r.valid());
    CHECK(r.valid_count() == results.size());

    // CON-3: no bar code or plaintext record appears in any state key or value.
    const std::string bar = "1230001008100035600000";
    for (const auto& [key, value] : chain.state.data()) {
        CHECK(key.find(bar) == std::string::npos);
        CHECK_FALSE(Contains(value, AsBytes(bar)));
        CHECK_FALSE(Contains(value, first_result));
    }
}

TEST_CASE("validity: public records travel sealed, no field value is in any transaction",
          "[contracts][validity][storage]") {
    TestChain chain;
    std::vector<v1::RecordSubmission> meters, results;
    std::vector<std::string> values;  // every non-trivial field value of every record
    auto collect = [&](const pb::Message& m) {
        const pb::Descriptor* d = m.GetDescriptor();
        for (int i = 0; i < d->field_count(); ++i) {
            const auto* f = d->field(i);
            if (f->is_repeated() || f->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) continue;
            std::string v = m.GetReflection()->GetString(m, f);
            if (v.size() >= 6) values.push_back(std::move(v));  // ids, dates, names
        }
    };
    for (const auto& line : ReadLines("test/data/meters.jsonl")) {
        auto m = ParseRecordJson(v1::RECORD_METER_ASSET, line);
        REQUIRE(m.ok());
        collect(**m);
        meters.push_back(chain.Submit("utility", v1::RECORD_METER_ASSET, **m));
    }
    std::vector<Bytes> plaintexts;
    for (const auto& line : ReadLines("test/data/verification-results.jsonl")) {
        auto r = ParseRecordJson(v1::RECORD_VERIFICATION_RESULT, line);
        REQUIRE(r.ok());
        collect(**r);
        plaintexts.push_back(SerializeProto(**r));
        results.push_back(chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT, **r));
    }
    for (const auto& sub : results) {
        CHECK(sub.content().empty());
        CHECK_FALSE(sub.validation_envelope().empty());
    }
    CHECK(chain.Upload("utility", meters).valid());
    CHECK(chain.Upload("institute", results).valid());
    REQUIRE(values.size() > 100);
    REQUIRE(chain.payloads.size() == 2);
    // CON-3 for the transactions themselves: neither a bar code, a task number, any other field
    // value nor a whole serialized record appears in the signed payloads (hence in any block).
    const std::string bar = "1230001008100035600000";
    const std::string task = static_cast<const v1::VerificationResult&>(
                                 **ParseRecordJson(v1::RECORD_VERIFICATION_RESULT,
                                                   ReadLines("test/data/verification-results.jsonl")
                                                       .at(0)))
                                 .veri_task_no();
    REQUIRE(task.size() == 16);
    for (const auto& payload : chain.payloads) {
        CHECK_FALSE(Contains(payload, AsBytes(bar)));
        CHECK_FALSE(Contains(payload, AsBytes(task)));
        for (const auto& v : values) {
            INFO("field value " << v);
            CHECK_FALSE(Contains(payload, AsBytes(v)));
        }
        for (const auto& p : plaintexts) CHECK_FALSE(Contains(payload, p));
    }
    // The node-side check found exactly the stored digests of the plaintext.
    auto stored = chain.Query(kValidityContract, "Record", [&] {
        v1::QueryArgs q;
        q.set_record_type(v1::RECORD_VERIFICATION_RESULT);
        auto r = ParseRecordJson(v1::RECORD_VERIFICATION_RESULT,
                                 ReadLines("test/data/verification-results.jsonl").at(0));
        q.set_id(IdOf(v1::RECORD_VERIFICATION_RESULT, **r));
        return q;
    }());
    REQUIRE(stored.ok());
    v1::StoredRecord rec;
    REQUIRE(rec.ParseFromArray(stored->data(), static_cast<int>(stored->size())));
    CHECK(ToBytes(rec.digest()) == ToBytes(crypto::Sm3(plaintexts.at(0))));
}

TEST_CASE("validity: a mixed batch yields the exact result set, only valid records are stored",
          "[contracts][validity]") {
    TestChain chain;
    chain.SeedReferences();
    const RecordType vr = v1::RECORD_VERIFICATION_RESULT;
    auto base = [&](int n) {
        auto m = SampleRecord(vr, n);
        return std::unique_ptr<v1::VerificationResult>(
            static_cast<v1::VerificationResult*>(m.release()));
    };
    std::vector<std::unique_ptr<v1::VerificationResult>> recs;
    for (int i = 0; i < 10; ++i) recs.push_back(base(i + 1));
    recs[1]->set_bar_code("123");                        // bar code length
    recs[2]->set_dayerr_conc_code("不合格");             // qualified overall, item unqualified
    recs[3]->set_bar_code(SampleBarCode(4242));          // meter not registered
    recs[4]->set_veri_task_no(recs[0]->veri_task_no());  // duplicate of record 0 in the batch
    recs[5]->set_inst_id("TJ-XX");                       // unknown institution
    recs[6]->set_veri_date("2024-02-30 10:00:00");       // no such day
    recs[7]->set_volt_conc_code("good");                 // not an allowed conclusion
    recs[8]->set_basic_error_conc_code("不合格");        // a consistent unqualified result
    recs[8]->set_veri_result("不合格");
    recs[9]->clear_veri_date();  // required field missing

    std::vector<v1::RecordSubmission> subs;
    for (const auto& r : recs) subs.push_back(chain.Submit("institute", vr, *r));
    // Record 10: digest-only although verification results are public.
    Bytes content;
    subs.push_back(*BuildDigestOnlySubmission(vr, *base(11), &content));
    // Record 11: the record key is not wrapped for every authorised reader.
    auto missing_key = chain.Submit("institute", vr, *base(12));
    missing_key.mutable_wrapped_keys()->RemoveLast();
    subs.push_back(missing_key);
    // Record 12: a meter asset, which the institute may not write.
    subs.push_back(chain.Submit("institute", v1::RECORD_METER_ASSET,
                                *SampleRecord(v1::RECORD_METER_ASSET, 13)));
    // Record 13: sealed content that does not parse as the declared type.
    subs.push_back(SealRaw(chain, chain.Submit("institute", vr, *base(14)),
                           AsBytes(std::string("\xff\xff\xff")), IdOf(vr, *base(14))));
    // Record 14: a valid record that also carries its plaintext in clear (CON-3).
    auto clear = chain.Submit("institute", vr, *base(15));
    clear.set_content(ToString(SerializeProto(*base(15))));
    subs.push_back(clear);

    auto result = chain.Upload("institute", subs);
    const std::vector<std::pair<bool, std::string>> expected = {
        {true, ""},
        {false, "VR-FMT-BARCODE"},
        {false, "VR-CONSISTENT"},
        {false, "VR-REF-METER"},
        {false, "VR-NODUP"},
        {false, "VR-INSTITUTION"},
        {false, "VR-DATE-VERIDATE"},
        {false, "VR-ENUM-CONCLUSIONS"},
        {true, ""},
        {false, "VR-REQ-VERIDATE"},
        {false, std::string(kCheckStorage)},
        {false, std::string(kCheckStorage)},
        {false, std::string(kCheckPermission)},
        {false, std::string(kCheckEncoding)},
        {false, std::string(kCheckStorage)},
    };
    CHECK(Outcomes(result) == expected);
    CHECK_FALSE(result.valid());
    CHECK(result.valid_count() == 2);
    CHECK(result.signature_error().empty());
    for (int i = 0; i < result.results_size(); ++i) {
        CHECK(result.results(i).index() == static_cast<uint32_t>(i));
        if (!result.results(i).valid()) CHECK_FALSE(result.results(i).reason().empty());
    }
    CHECK(RecordStored(chain, vr, IdOf(vr, *recs[0])));
    CHECK(RecordStored(chain, vr, IdOf(vr, *recs[8])));
    for (int i : {2, 3, 5, 6, 7}) CHECK_FALSE(RecordStored(chain, vr, IdOf(vr, *recs[i])));
    CHECK_FALSE(RecordStored(chain, vr, IdOf(vr, *base(11))));
    CHECK_FALSE(RecordStored(chain, vr, IdOf(vr, *base(12))));
    CHECK_FALSE(RecordStored(chain, vr, IdOf(vr, *base(15))));

    // The same record uploaded again later is a duplicate too.
    auto again = chain.Upload("institute", {chain.Submit("institute", vr, *recs[0])});
    CHECK(Outcomes(again) == std::vector<std::pair<bool, std::string>>{{false, "VR-NODUP"}});
}

TEST_CASE(
    "validity: forged, foreign, duplicate or insufficient validator signatures refuse the set",
    "[contracts][validity]") {
    TestChain chain;
    chain.SeedReferences();
    auto meter = SampleRecord(v1::RECORD_METER_ASSET, 21);
    auto sub = chain.MakeSubmission(
        "utility", {chain.Submit("utility", v1::RECORD_METER_ASSET, *meter)}, {}, "sig-batch");
    auto sign = [&](v1::ValiditySubmission& s, const std::string& as_org,
                    const std::string& with_key) {
        SignValiditySubmission(chain.chain_id, "utility", as_org, *chain.org(with_key).signer, &s);
    };
    auto run = [&](const v1::ValiditySubmission& s) {
        Hash256 tx;
        Status st = chain.Call("utility", kValidityContract, "Validity", s, &tx);
        REQUIRE(st.ok());
        v1::QueryArgs q;
        q.set_id(ToHex(tx));
        auto bytes = chain.Query(kValidityContract, "Result", q);
        REQUIRE(bytes.ok());
        v1::ValidityResult r;
        REQUIRE(r.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
        return r;
    };
    auto expect_refused = [&](const v1::ValiditySubmission& s, const std::string& why) {
        auto r = run(s);
        CHECK_FALSE(r.valid());
        CHECK(r.valid_count() == 0);
        CHECK_THAT(r.signature_error(), Catch::Contains(why));
        REQUIRE(r.results_size() == 1);
        CHECK(r.results(0).rule_id() == kCheckSignatures);
        CHECK_FALSE(
            RecordStored(chain, v1::RECORD_METER_ASSET, IdOf(v1::RECORD_METER_ASSET, *meter)));
    };

    SECTION("no signature") { expect_refused(sub, "0 validator signature(s), 2 required"); }
    SECTION("one of two") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        expect_refused(s, "1 validator signature(s), 2 required");
    }
    SECTION("the same validator twice") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        sign(s, "regulator", "regulator");
        expect_refused(s, "duplicate signature");
    }
    SECTION("forged: signed with another key") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        sign(s, "third-party", "outsider");
        expect_refused(s, "does not verify");
    }
    SECTION("forged: records changed after signing") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        sign(s, "third-party", "third-party");
        s.mutable_records(0)->mutable_wrapped_keys(0)->set_wrapped("tampered");
        expect_refused(s, "does not verify");
    }
    SECTION("forged: signed for another uploader") {
        auto s = sub;
        SignValiditySubmission(chain.chain_id, "regulator", "regulator",
                               *chain.org("regulator").signer, &s);
        SignValiditySubmission(chain.chain_id, "regulator", "third-party",
                               *chain.org("third-party").signer, &s);
        expect_refused(s, "does not verify");
    }
    SECTION("foreign: an unregistered signer") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        sign(s, "third-party", "third-party");
        sign(s, "outsider", "outsider");
        expect_refused(s, "not a registered organisation");
    }
    SECTION("foreign: an organisation without the validator role") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        sign(s, "third-party", "third-party");
        sign(s, "auditor", "auditor");
        expect_refused(s, "not an authorised validator");
    }
    SECTION("a refused set does not use up its batch id; a correct one is accepted once") {
        auto s = sub;
        sign(s, "regulator", "regulator");
        expect_refused(s, "required");
        sign(s, "institute", "institute");
        auto r = run(s);
        CHECK(r.valid());
        CHECK(RecordStored(chain, v1::RECORD_METER_ASSET, IdOf(v1::RECORD_METER_ASSET, *meter)));
        CHECK(chain.Call("utility", kValidityContract, "Validity", s).code() ==
              StatusCode::kAlreadyExists);
    }
}

TEST_CASE("validity: malformed calls fail the transaction without writes",
          "[contracts][validity]") {
    TestChain chain;
    v1::ValiditySubmission empty;
    empty.set_batch_id("x");
    CHECK(chain.Call("utility", kValidityContract, "Validity", empty).code() ==
          StatusCode::kInvalidArgument);
    auto before = chain.state.data();
    CallContext ctx;
    ctx.sender = chain.org("utility").public_key;
    Contract* validity = chain.registry.Find(kValidityContract);
    REQUIRE(validity != nullptr);
    OverlayState overlay(chain.state);
    CHECK_FALSE(validity->Call(ctx, "Validity", AsBytes(std::string("\x0a\xff", 2)), overlay).ok());
    CHECK(chain.state.data() == before);
}

TEST_CASE("validity: a 10,000-record batch costs a linear number of state reads",
          "[contracts][validity][performance]") {
    TestChain chain;
    // Every record is really sealed and enveloped (the contract opens both), but the wrapped
    // record keys are taken from one real submission: the contract cannot (and need not) open
    // them, and 40,000 SM2 encryptions would only slow the test down.
    auto tmpl =
        chain.Submit("utility", v1::RECORD_METER_ASSET, *SampleRecord(v1::RECORD_METER_ASSET, 0));
    auto build = [&](int n, int offset) {
        std::vector<v1::RecordSubmission> subs;
        subs.reserve(n);
        for (int i = 0; i < n; ++i) {
            auto m = SampleRecord(v1::RECORD_METER_ASSET, offset + i);
            auto s = BuildPublicSubmission(chain.chain_id, v1::RECORD_METER_ASSET, *m, {},
                                           chain.validation_key);
            REQUIRE(s.ok());
            *s->mutable_wrapped_keys() = tmpl.wrapped_keys();
            subs.push_back(std::move(*s));
        }
        return chain.MakeSubmission("utility", subs, {"third-party", "regulator"});
    };
    auto measure = [&](int n, int offset, uint64_t* gets, uint64_t* scans) {
        auto sub = build(n, offset);
        CountingState counting(chain.state);
        Hash256 tx;
        auto start = std::chrono::steady_clock::now();
        REQUIRE(chain.CallOn(counting, "utility", kValidityContract, "Validity", sub, &tx).ok());
        auto elapsed = std::chrono::steady_clock::now() - start;
        *gets = counting.gets;
        *scans = counting.scans;
        v1::QueryArgs q;
        q.set_id(ToHex(tx));
        v1::ValidityResult r;
        auto bytes = chain.Query(kValidityContract, "Result", q);
        REQUIRE(bytes.ok());
        REQUIRE(r.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
        CHECK(r.valid());
        CHECK(r.valid_count() == static_cast<uint32_t>(n));
        return std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
    };
    uint64_t gets_small = 0, scans_small = 0, gets_large = 0, scans_large = 0;
    measure(1000, 100000, &gets_small, &scans_small);
    auto ms = measure(10000, 200000, &gets_large, &scans_large);
    // Reads per record are bounded by a constant (owner check + NO_DUPLICATE), scans by the
    // number of governance tables, independent of the batch size.
    uint64_t per_record = (gets_large - gets_small) / 9000;
    CHECK(per_record <= 3);
    CHECK(gets_large - per_record * 10000 == gets_small - per_record * 1000);
    CHECK(scans_large == scans_small);
    CHECK(ms < 60000);  // generous: a few hundred ms on a laptop
    WARN("10,000-record batch: " << gets_large << " state reads, " << scans_large << " scans, "
                                 << ms << " ms");
}

TEST_CASE("validity: execution is deterministic across replicas", "[contracts][validity]") {
    TestChain chain;
    chain.SeedReferences();
    auto result =
        chain.Upload("institute", {chain.Submit("institute", v1::RECORD_VERIFICATION_RESULT,
                                                *SampleRecord(v1::RECORD_VERIFICATION_RESULT, 1))});
    CHECK(result.valid());
    CHECK(chain.state.data() == chain.replica.data());
    CHECK(chain::WriteSetDigest(chain.state.writes()) ==
          chain::WriteSetDigest(chain.replica.writes()));
}

// ---------------------------------------------------------------------------------------------
// The chain validation key (CON-3 for public records in transactions)

TEST_CASE("validation key: genesis holds only wrapped copies and each validator unwraps its own",
          "[contracts][validity][genesis]") {
    TestChain chain;
    std::string json;
    REQUIRE(google::protobuf::util::MessageToJsonString(chain.genesis, &json).ok());
    auto writes = GenesisWrites(json);
    REQUIRE(writes.ok());
    MemoryState state;
    for (const auto& [k, v] : *writes) state.Put(k, *v);
    Bytes raw_key;  // K itself, to prove it is written nowhere
    for (const auto& name : {"utility", "regulator", "third-party", "institute"}) {
        INFO(name);
        auto k = LoadValidationKey(state, name, chain.org(name).key);
        REQUIRE(k.ok());
        CHECK(k->KeyCheck() == chain.validation_key.KeyCheck());
        // The unwrapped key opens what the chain's K sealed.
        Bytes sealed = chain.validation_key.Seal(AsBytes(std::string("x")), {});
        CHECK(k->Open(sealed, {}).ok());
    }
    {
        auto wrapped = state.Get(ValidationKeyStateKey("utility"));
        REQUIRE(wrapped);
        v1::WrappedKey w;
        REQUIRE(w.ParseFromArray(wrapped->data(), static_cast<int>(wrapped->size())));
        auto plain = chain.org("utility").key.Decrypt(AsBytes(w.wrapped()));
        REQUIRE(plain.ok());
        raw_key = *plain;
    }
    REQUIRE(raw_key.size() == kValidationKeySize);
    for (const auto& [k, v] : *writes) CHECK_FALSE(Contains(*v, raw_key));
    CHECK_FALSE(Contains(AsBytes(json), AsBytes(ToHex(raw_key))));

    // Not a holder, the wrong private key, or a copy of another K: refused, clearly.
    auto auditor = LoadValidationKey(state, "auditor", chain.org("auditor").key);
    CHECK(auditor.status().code() == StatusCode::kNotFound);
    CHECK_THAT(auditor.status().message(), Catch::Contains("not wrapped for 'auditor'"));
    CHECK(LoadValidationKey(state, "utility", chain.org("regulator").key).status().code() ==
          StatusCode::kUnauthenticated);
    auto other = ValidationKey::Generate().WrapFor("utility", chain.org("utility").public_key);
    REQUIRE(other.ok());
    state.Put(ValidationKeyStateKey("utility"), SerializeProto(*other));
    CHECK(LoadValidationKey(state, "utility", chain.org("utility").key).status().code() ==
          StatusCode::kFailedPrecondition);
    MemoryState empty;
    CHECK_THAT(LoadValidationKey(empty, "utility", chain.org("utility").key).status().message(),
               Catch::Contains("no validation key"));
}

TEST_CASE("validity: every rule of a public record type is enforced on the sealed record",
          "[contracts][validity][rules]") {
    TestChain chain;
    chain.SeedReferences();
    int checked = 0;
    int n = 5000;
    for (const v1::ValidityRule& rule : chain.genesis.rule_set().rules()) {
        const RecordType type = rule.record_type();
        auto policy = FindRecordPolicy(chain.state, type);
        REQUIRE(policy.ok());
        if ((*policy)->storage_class() != v1::STORAGE_PUBLIC_ENCRYPTED) continue;
        INFO("rule " << rule.id());
        // Only this rule is in force, so the result names it (governance installs a new set).
        v1::GovernanceAction install;
        install.mutable_set_rule_set()->set_version(chain.RuleSetVersion() + 1);
        *install.mutable_set_rule_set()->add_rules() = rule;
        REQUIRE(ApplyGovernanceAction(chain.state, install).ok());
        REQUIRE(ApplyGovernanceAction(chain.replica, install).ok());

        auto record = SampleRecord(type, ++n);
        const std::string id = IdOf(type, *record);
        std::vector<v1::RecordSubmission> subs;
        std::string expected = rule.id();
        const auto& keys = KeyFields(type);
        if (rule.kind() == v1::RULE_NO_DUPLICATE) {
            subs.push_back(chain.Submit(WriterOf(type), type, *record));  // then again
            subs.push_back(chain.Submit(WriterOf(type), type, *record));
        } else if (rule.kind() == v1::RULE_REQUIRED &&
                   std::find(keys.begin(), keys.end(), rule.field()) != keys.end()) {
            // No record id without its key fields: the client refuses to build it, so seal it by
            // hand; the contract reports the missing key field.
            auto like = chain.Submit(WriterOf(type), type, *record);
            ClearField(*record, rule.field());
            subs.push_back(SealRaw(chain, like, SerializeProto(*record), id));
            expected = std::string(kCheckIndex);
        } else {
            StateRuleEnvironment unused(chain.state, WriterOf(type));
            Violate(rule, *record, unused, type, id);
            subs.push_back(chain.Submit(WriterOf(type), type, *record));
        }
        for (const auto& sub : subs) CHECK(sub.content().empty());
        auto result = chain.Upload(WriterOf(type), subs);
        REQUIRE(result.results_size() == static_cast<int>(subs.size()));
        const auto& last = result.results(result.results_size() - 1);
        CHECK_FALSE(last.valid());
        CHECK(last.rule_id() == expected);
        CHECK_FALSE(last.reason().empty());
        ++checked;
    }
    CHECK(checked >= 40);
    CHECK(chain.state.data() == chain.replica.data());
}

TEST_CASE("validity: a wrong validation key or altered ciphertext makes a public record invalid",
          "[contracts][validity]") {
    TestChain chain;
    chain.SeedReferences();
    const RecordType vr = v1::RECORD_VERIFICATION_RESULT;
    auto record = SampleRecord(vr, 31);
    const std::string id = IdOf(vr, *record);
    auto upload_one = [&](const v1::RecordSubmission& sub) {
        auto r = chain.Upload("institute", {sub});
        REQUIRE(r.results_size() == 1);
        CHECK_FALSE(RecordStored(chain, vr, id));
        return r.results(0);
    };
    auto flip = [](std::string s, size_t at) {
        s[at % s.size()] ^= 0x01;
        return s;
    };

    SECTION("sealed by the uploader with another key than the chain's") {
        ValidationKey wrong = ValidationKey::Generate();
        auto sub = BuildRecordSubmission(chain.state, chain.chain_id, vr, *record,
                                         &chain.vault("institute"), &wrong);
        REQUIRE(sub.ok());
        auto r = upload_one(*sub);
        CHECK(r.rule_id() == kCheckCiphertext);
        CHECK_THAT(r.reason(), Catch::Contains("validation envelope does not open"));
    }
    SECTION("validation envelope altered") {
        auto sub = chain.Submit("institute", vr, *record);
        sub.set_validation_envelope(flip(sub.validation_envelope(), 40));
        auto r = upload_one(sub);
        CHECK(r.rule_id() == kCheckCiphertext);
        CHECK_THAT(r.reason(), Catch::Contains("validation envelope does not open"));
    }
    SECTION("sealed record altered") {
        auto sub = chain.Submit("institute", vr, *record);
        sub.set_sealed(flip(sub.sealed(), 20));
        auto r = upload_one(sub);
        CHECK(r.rule_id() == kCheckCiphertext);
        CHECK_THAT(r.reason(), Catch::Contains("sealed record does not open"));
    }
    SECTION("envelope of another record") {
        auto sub = chain.Submit("institute", vr, *record);
        auto other = chain.Submit("institute", vr, *SampleRecord(vr, 32));
        sub.set_validation_envelope(other.validation_envelope());
        CHECK(upload_one(sub).rule_id() == kCheckCiphertext);
    }
    SECTION("envelope for another record type") {
        auto sub = chain.Submit("institute", vr, *record);
        Bytes key = crypto::RandomBytes(crypto::kSealKeySize);
        Bytes plain = SerializeProto(*record);
        sub.set_sealed(ToString(crypto::Seal(key, plain, RecordAad(chain.chain_id, vr, id))));
        sub.set_validation_envelope(ToString(chain.validation_key.Seal(
            EncodeValidationEnvelope(key, id),
            ValidationAad(chain.chain_id, v1::RECORD_METER_ASSET))));
        CHECK(upload_one(sub).rule_id() == kCheckCiphertext);
    }
    SECTION("record id in the envelope is not the record's") {
        auto sub = SealRaw(chain, chain.Submit("institute", vr, *record),
                           SerializeProto(*record), IdOf(vr, *SampleRecord(vr, 33)));
        auto r = upload_one(sub);
        CHECK(r.rule_id() == kCheckCiphertext);
        CHECK_THAT(r.reason(), Catch::Contains("record id sealed in the validation envelope"));
    }
    SECTION("no validation envelope") {
        auto sub = chain.Submit("institute", vr, *record);
        sub.clear_validation_envelope();
        CHECK(upload_one(sub).rule_id() == kCheckStorage);
    }
    SECTION("a node holding another key refuses with a clear reason, never crashes") {
        auto sub = chain.Submit("institute", vr, *record);
        ValidationKey other = ValidationKey::Generate();
        chain.node_validation = &other;
        auto r = upload_one(sub);
        CHECK(r.rule_id() == kCheckValidationKey);
        CHECK_THAT(r.reason(), Catch::Contains("not the chain's"));
        chain.node_validation = &chain.validation_key;
    }
    SECTION("a node holding no key refuses with a clear reason") {
        auto sub = chain.Submit("institute", vr, *record);
        chain.node_validation = nullptr;
        auto r = upload_one(sub);
        CHECK(r.rule_id() == kCheckValidationKey);
        CHECK_THAT(r.reason(), Catch::Contains("holds no copy of the chain validation key"));
        chain.node_validation = &chain.validation_key;
    }
    SECTION("an envelope changed after the validators signed refuses the whole set") {
        auto signed_sub = chain.MakeSubmission(
            "institute", {chain.Submit("institute", vr, *record)}, {"third-party", "regulator"});
        signed_sub.mutable_records(0)->set_validation_envelope(
            flip(signed_sub.records(0).validation_envelope(), 40));
        Hash256 tx;
        REQUIRE(chain.Call("institute", kValidityContract, "Validity", signed_sub, &tx).ok());
        v1::QueryArgs q;
        q.set_id(ToHex(tx));
        auto bytes = chain.Query(kValidityContract, "Result", q);
        REQUIRE(bytes.ok());
        v1::ValidityResult r;
        REQUIRE(r.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
        CHECK(r.results(0).rule_id() == kCheckSignatures);
    }
    // The untouched submission is accepted afterwards: nothing above consumed the record id.
    CHECK(chain.Upload("institute", {chain.Submit("institute", vr, *record)}).valid());
}

TEST_CASE("validity: without a chain validation key, public records are refused, digest-only pass",
          "[contracts][validity]") {
    TestChain chain(/*with_validation_keys=*/false);
    CHECK_FALSE(ChainValidationKeyCheck(chain.state).has_value());
    auto meter = chain.Submit("utility", v1::RECORD_METER_ASSET,
                              *SampleRecord(v1::RECORD_METER_ASSET, 0));
    auto r = chain.Upload("utility", {meter});
    CHECK_FALSE(r.valid());
    CHECK(r.results(0).rule_id() == kCheckValidationKey);
    CHECK_THAT(r.results(0).reason(), Catch::Contains("the chain has no validation key"));
    // A node without a key gives the same answer as one with a key here: deterministic.
    CHECK(chain.state.data() == chain.replica.data());
    // Digest-only records do not need the key (no references are checked on undisclosed data).
    auto eval = SampleRecord(v1::RECORD_CALIBRATION_EVALUATION, 0);
    auto digest_only = chain.Upload(
        "utility", {chain.Submit("utility", v1::RECORD_CALIBRATION_EVALUATION, *eval)});
    INFO(digest_only.results(0).rule_id() << " " << digest_only.results(0).reason());
    CHECK(digest_only.results(0).rule_id() != kCheckValidationKey);
}
