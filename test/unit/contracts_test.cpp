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
    CHECK(kinds.size() == 9);  // every rule kind is used by the default set
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
        CHECK_FALSE(Contains(value, AsBytes(results[0].content())));
    }
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
    // Record 13: content that does not parse as the declared type.
    auto garbage = chain.Submit("institute", vr, *base(14));
    garbage.set_content("\xff\xff\xff");
    subs.push_back(garbage);

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
    // Ciphertext and wrapped keys are taken from one real submission: the contract cannot (and
    // need not) open them, and 40,000 SM2 encryptions would only slow the test down.
    auto tmpl =
        chain.Submit("utility", v1::RECORD_METER_ASSET, *SampleRecord(v1::RECORD_METER_ASSET, 0));
    auto build = [&](int n, int offset) {
        std::vector<v1::RecordSubmission> subs;
        subs.reserve(n);
        for (int i = 0; i < n; ++i) {
            auto m = SampleRecord(v1::RECORD_METER_ASSET, offset + i);
            auto s = tmpl;
            s.set_content(ToString(SerializeProto(*m)));
            subs.push_back(std::move(s));
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
