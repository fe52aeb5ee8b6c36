#include "test/unit/contracts_fixture.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "contracts/governance.h"
#include "contracts/validity.h"

namespace meterchain::contracts::testing {

std::string ReadFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in.good());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string SourcePath(const std::string& relative) {
    return std::string(MC_SOURCE_DIR) + "/" + relative;
}

std::vector<std::string> ReadLines(const std::string& relative) {
    std::istringstream in(ReadFile(SourcePath(relative)));
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    return lines;
}

Bytes PrivateScalar(const crypto::Sm2PrivateKey& key) {
    // PKCS#8 wraps ECPrivateKey { INTEGER 1, OCTET STRING (32) privateKey, ... }.
    Bytes der = key.ToDer();
    const uint8_t pattern[] = {0x02, 0x01, 0x01, 0x04, 0x20};
    auto it = std::search(der.begin(), der.end(), std::begin(pattern), std::end(pattern));
    REQUIRE(it != der.end());
    REQUIRE(der.end() - it >= 5 + 32);
    return Bytes(it + 5, it + 5 + 32);
}

bool Contains(ByteView haystack, ByteView needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

std::string SampleBarCode(int n) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "9990001008100035%06d", n);
    return buf;
}

namespace {

std::string Fmt(const char* format, int n) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), format, n);
    return buf;
}

}  // namespace

int FreshSampleIndex(RecordType type) {
    // Handling and evaluation are keyed by the seeded order WO000000 they refer to.
    return type == v1::RECORD_CALIBRATION_HANDLING || type == v1::RECORD_CALIBRATION_EVALUATION ? 0
                                                                                                : 1;
}

std::unique_ptr<pb::Message> SampleRecord(RecordType type, int n) {
    const std::string bar = SampleBarCode(0);
    switch (type) {
        case v1::RECORD_ARRIVAL_BATCH: {
            auto m = std::make_unique<v1::ArrivalBatch>();
            m->set_arrival_batch_no(Fmt("AB2099%04d", n));
            m->set_manufacturer("M01");
            m->set_arrival_date("2024-01-26");
            return m;
        }
        case v1::RECORD_METER_ASSET: {
            auto m = std::make_unique<v1::MeterAsset>();
            m->set_bar_code(SampleBarCode(n));
            m->set_asset_no(Fmt("TJ9%06d", n));
            m->set_arrival_batch_no("AB20240001");
            m->set_manufacturer("M02");
            m->set_meter_type("单相智能电能表");
            m->set_accuracy_class("2");
            m->set_wire_model("01");
            m->set_wire_mode_name("单相");
            m->set_owning_unit("国网天津市电力公司");
            m->set_supply_station("SS10");
            m->set_install_date("2020-09-04");
            m->set_state("运行");
            return m;
        }
        case v1::RECORD_VERIFICATION_RESULT: {
            auto lines = ReadLines("test/data/verification-results.jsonl");
            auto parsed = ParseRecordJson(type, lines.at(0));
            REQUIRE(parsed.ok());
            auto m = std::move(*parsed);
            SetField(*m, "barCode", bar);
            SetField(*m, "veriTaskNo", Fmt("12012024021%05d", n));
            return m;
        }
        case v1::RECORD_CALIBRATION_REQUEST: {
            auto m = std::make_unique<v1::CalibrationRequest>();
            m->set_request_no(Fmt("CR%06d", n));
            m->set_requester("张三");
            m->set_asset_no("TJ9000000");
            m->set_bar_code(bar);
            m->set_request_time("2024-03-01 09:00:00");
            m->set_description("电量异常");
            return m;
        }
        case v1::RECORD_CALIBRATION_ACCEPTANCE: {
            auto m = std::make_unique<v1::CalibrationAcceptance>();
            m->set_work_order_no(Fmt("WO%06d", n));
            m->set_request_no("CR000000");
            m->set_service_channel("95598");
            m->set_acceptance_date("2024-03-01 10:00:00");
            m->set_status("已受理");
            m->set_duration_hours(4);
            return m;
        }
        case v1::RECORD_CALIBRATION_HANDLING: {
            auto m = std::make_unique<v1::CalibrationHandling>();
            m->set_work_order_no(Fmt("WO%06d", n));
            m->set_handler("李四");
            m->set_verification_time("2024-03-02 14:30:00");
            m->set_conclusion("合格");
            m->set_verifying_unit("TJ-MVS");
            m->set_follow_up_visit(true);
            return m;
        }
        case v1::RECORD_CALIBRATION_EVALUATION: {
            auto m = std::make_unique<v1::CalibrationEvaluation>();
            m->set_work_order_no(Fmt("WO%06d", n));
            m->set_satisfaction("满意");
            m->set_visit_date("2024-03-05");
            m->set_opinion("处理及时");
            return m;
        }
        case v1::RECORD_STATE_EVALUATION: {
            auto m = std::make_unique<v1::StateEvaluation>();
            m->set_bar_code(bar);
            m->set_model_result("正常");
            m->set_eval_time("2024-03-31 23:00:00");
            m->set_run_id(Fmt("RUN%04d", n));
            return m;
        }
        case v1::RECORD_RUNNING_QUALITY: {
            auto m = std::make_unique<v1::RunningQuality>();
            m->set_bar_code(bar);
            m->set_area("A01");
            m->set_state("正常");
            m->set_report_date(Fmt("2024-03-%02d", n % 28 + 1));
            return m;
        }
        case v1::RECORD_OUT_OF_TOLERANCE: {
            auto m = std::make_unique<v1::OutOfTolerance>();
            m->set_bar_code(bar);
            m->set_cause("基本误差超差");
            m->set_detect_time(Fmt("2024-03-01 09:%02d:00", n % 60));
            return m;
        }
        case v1::RECORD_REPLACEMENT_ORDER: {
            auto m = std::make_unique<v1::ReplacementOrder>();
            m->set_work_order_no(Fmt("RO%06d", n));
            m->set_bar_code(bar);
            m->set_created_time("2024-03-02 08:00:00");
            m->set_completed_time("2024-03-03 08:00:00");
            m->set_timely(true);
            m->set_accurate(true);
            return m;
        }
        case v1::RECORD_SAMPLING: {
            auto m = std::make_unique<v1::SamplingRecord>();
            m->set_task_no(Fmt("SJ2024%04d", n));
            m->set_bar_code(bar);
            m->set_running_condition("运行正常");
            m->set_address("天津市河西区某路1号");
            m->set_result("合格");
            m->set_inspector("王五");
            m->set_sample_time("2024-04-01 10:00:00");
            return m;
        }
        default:
            FAIL("no sample for record type " << type);
            return nullptr;
    }
}

void SetField(pb::Message& m, const std::string& json_name, const std::string& value) {
    const pb::Descriptor* d = m.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
        if (d->field(i)->json_name() == json_name) {
            REQUIRE(d->field(i)->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING);
            m.GetReflection()->SetString(&m, d->field(i), value);
            return;
        }
    }
    FAIL("no field " << json_name);
}

void ClearField(pb::Message& m, const std::string& json_name) {
    const pb::Descriptor* d = m.GetDescriptor();
    for (int i = 0; i < d->field_count(); ++i) {
        if (d->field(i)->json_name() == json_name) {
            m.GetReflection()->ClearField(&m, d->field(i));
            return;
        }
    }
    FAIL("no field " << json_name);
}

TestChain::TestChain(bool with_validation_keys) {
    auto parsed = ParseContractsGenesis(ReadFile(SourcePath("deploy/genesis.json")));
    REQUIRE(parsed.ok());
    genesis = std::move(*parsed);
    auto add_org = [&](const std::string& name) {
        auto key = crypto::Sm2PrivateKey::Generate();
        Org o{name, key, key.PublicKey().Raw(), std::make_shared<crypto::Sm2Signer>(key)};
        orgs.emplace(name, std::move(o));
    };
    // Keys are placed per organisation name, as `meterctl init-cluster` does.
    for (auto& org : *genesis.mutable_organisations()) {
        add_org(org.name());
        org.set_public_key(ToHex(orgs.at(org.name()).public_key));
    }
    add_org("auditor");
    auto* auditor = genesis.add_organisations();
    auditor->set_name("auditor");
    auditor->set_public_key(ToHex(orgs.at("auditor").public_key));
    auditor->add_roles("auditor");
    add_org("outsider");  // never registered
    if (with_validation_keys) {
        for (const auto& org : genesis.organisations()) {
            if (std::find(org.roles().begin(), org.roles().end(), "validator") == org.roles().end())
                continue;
            auto wrapped = validation_key.WrapFor(org.name(), orgs.at(org.name()).public_key);
            REQUIRE(wrapped.ok());
            *genesis.add_validation_keys() = *wrapped;
        }
        genesis.set_validation_key_check(ToString(validation_key.KeyCheck()));
    }

    Status st = ApplyContractsGenesis(genesis, state);
    INFO(st.ToString());
    REQUIRE(st.ok());
    REQUIRE(ApplyContractsGenesis(genesis, replica).ok());
    REQUIRE(RegisterBuiltinContracts(registry).ok());
}

Status TestChain::CallOn(StateView& base, const std::string& org, std::string_view contract,
                         std::string_view method, const pb::Message& args, Hash256* tx_hash) {
    Bytes payload = ContractCallPayload(contract, method, args);
    payloads.push_back(payload);
    CallContext ctx;
    ctx.chain_id = chain_id;
    ctx.sender = orgs.at(org).public_key;
    ctx.tx_hash = crypto::Sm3("tx/" + std::to_string(++m_tx_counter));
    ctx.height = ++height;
    ctx.block_timestamp_ms = (now_ms += 1000);
    ctx.validation = node_validation;
    if (tx_hash != nullptr) *tx_hash = ctx.tx_hash;

    OverlayState overlay(base);
    Status st = DispatchContractCall(registry, ctx, payload, overlay);
    if (!st.ok()) return st;
    for (const auto& [key, value] : overlay.writes()) {
        if (value) {
            base.Put(key, *value);
        } else {
            base.Delete(key);
        }
    }
    if (&base == &state) {
        OverlayState again(replica);
        REQUIRE(DispatchContractCall(registry, ctx, payload, again).ok());
        for (const auto& [key, value] : again.writes()) {
            if (value) {
                replica.Put(key, *value);
            } else {
                replica.Delete(key);
            }
        }
    }
    return st;
}

Status TestChain::Call(const std::string& org, std::string_view contract, std::string_view method,
                       const pb::Message& args, Hash256* tx_hash) {
    return CallOn(state, org, contract, method, args, tx_hash);
}

Result<Bytes> TestChain::Query(std::string_view contract, std::string_view method,
                               const v1::QueryArgs& args) const {
    Contract* c = registry.Find(contract);
    REQUIRE(c != nullptr);
    return c->Query(method, SerializeProto(args), state);
}

OffchainVault& TestChain::vault(const std::string& org) {
    auto it = m_vaults.find(org);
    if (it == m_vaults.end()) {
        m_stores[org] = std::make_unique<MemoryRecordStore>();
        it = m_vaults.emplace(org, std::make_unique<OffchainVault>(*m_stores[org])).first;
    }
    return *it->second;
}

v1::RecordSubmission TestChain::Submit(const std::string& owner, RecordType type,
                                       const pb::Message& record) {
    auto sub = BuildRecordSubmission(state, chain_id, type, record, &vault(owner), &validation_key);
    INFO(sub.status().ToString());
    REQUIRE(sub.ok());
    return *sub;
}

uint64_t TestChain::RuleSetVersion() const {
    auto rules = LoadCurrentRuleSet(state);
    REQUIRE(rules.ok());
    return rules->version();
}

v1::ValiditySubmission TestChain::MakeSubmission(const std::string& uploader,
                                                 const std::vector<v1::RecordSubmission>& records,
                                                 const std::vector<std::string>& signers,
                                                 std::string batch_id) {
    v1::ValiditySubmission sub;
    sub.set_batch_id(batch_id.empty() ? "batch-" + std::to_string(++m_batch_counter) : batch_id);
    sub.set_rule_set_version(RuleSetVersion());
    for (const auto& r : records) *sub.add_records() = r;
    for (const auto& s : signers) {
        SignValiditySubmission(chain_id, uploader, s, *orgs.at(s).signer, &sub);
    }
    return sub;
}

v1::ValidityResult TestChain::Upload(const std::string& uploader,
                                     const std::vector<v1::RecordSubmission>& records,
                                     const std::vector<std::string>& signers,
                                     std::string batch_id) {
    auto sub = MakeSubmission(uploader, records, signers, std::move(batch_id));
    Hash256 tx;
    Status st = Call(uploader, kValidityContract, "Validity", sub, &tx);
    INFO(st.ToString());
    REQUIRE(st.ok());
    v1::QueryArgs q;
    q.set_id(ToHex(tx));
    auto bytes = Query(kValidityContract, "Result", q);
    REQUIRE(bytes.ok());
    v1::ValidityResult result;
    REQUIRE(result.ParseFromArray(bytes->data(), static_cast<int>(bytes->size())));
    return result;
}

void TestChain::SeedReferences() {
    auto meter = SampleRecord(v1::RECORD_METER_ASSET, 0);
    auto request = SampleRecord(v1::RECORD_CALIBRATION_REQUEST, 0);
    auto order = SampleRecord(v1::RECORD_CALIBRATION_ACCEPTANCE, 0);
    auto result = Upload("utility", {Submit("utility", v1::RECORD_METER_ASSET, *meter),
                                     Submit("utility", v1::RECORD_CALIBRATION_REQUEST, *request)});
    REQUIRE(result.valid());
    result = Upload("utility", {Submit("utility", v1::RECORD_CALIBRATION_ACCEPTANCE, *order)});
    REQUIRE(result.valid());
}

}  // namespace meterchain::contracts::testing
