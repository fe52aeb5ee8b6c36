#include "node/gateway/verification_query.h"

#include <google/protobuf/util/json_util.h>

#include "contracts/common.h"
#include "contracts/records.h"
#include "node/base/log.h"
#include "proto/gateway.pb.h"

namespace meterchain::gateway {
namespace {

namespace pb = google::protobuf;

constexpr size_t kBarCodeDigits = 22;
constexpr size_t kTaskNoDigits = 16;

bool AllDigits(const std::string& s, size_t n) {
    if (s.size() != n) return false;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

std::string StatusText(const pb::util::Status& s) {
    const auto m = s.message();
    return std::string(m.data(), m.size());
}

Result<std::string> ToJson(const v1::VerificationResult& record) {
    std::string out;
    pb::util::JsonPrintOptions options;
    options.preserve_proto_field_names = false;
    options.always_print_primitive_fields = true;  // every conclusion field, also "" ones
    auto st = pb::util::MessageToJsonString(record, &out, options);
    if (!st.ok()) return Internal("record to JSON: " + StatusText(st));
    return out;
}

}  // namespace

VerificationQuery::VerificationQuery(VerificationQueryOptions options,
                                     const storage::ChainStore& store, crypto::Sm2PrivateKey key,
                                     metrics::Registry* metrics)
    : m_opt(std::move(options)),
      m_store(store),
      m_key(std::move(key)),
      m_records(m_opt.offchain_dir),
      m_vault(m_records) {
    if (metrics != nullptr) {
        m_cache_hits = &metrics->AddCounter("meterchain_gateway_record_cache_total",
                                            "verification results served from the opened-record "
                                            "cache (hit) or decrypted (miss)",
                                            "result=\"hit\"");
        m_cache_misses = &metrics->AddCounter("meterchain_gateway_record_cache_total",
                                              "verification results served from the opened-record "
                                              "cache (hit) or decrypted (miss)",
                                              "result=\"miss\"");
    }
}

HttpResponse VerificationQuery::Handle(const HttpRequest& request) {
    // 1. The body: a JSON object with exactly barCode, tableCode and veriTaskNo, all strings.
    v1::VerificationQueryRequest q;
    pb::util::JsonParseOptions parse;
    parse.ignore_unknown_fields = false;
    if (request.body.empty()) {
        return JsonError(400, "empty body; expected {\"barCode\",\"tableCode\",\"veriTaskNo\"}");
    }
    if (auto st = pb::util::JsonStringToMessage(request.body, &q, parse); !st.ok()) {
        return JsonError(400, "request body is not the expected JSON object {\"barCode\", "
                              "\"tableCode\", \"veriTaskNo\"} of strings: " + StatusText(st));
    }
    for (const auto& [present, name] : {std::pair{q.has_barcode(), "barCode"},
                                        std::pair{q.has_tablecode(), "tableCode"},
                                        std::pair{q.has_veritaskno(), "veriTaskNo"}}) {
        if (!present) return JsonError(400, std::string("missing field ") + name);
    }
    if (!AllDigits(q.barcode(), kBarCodeDigits)) {
        return JsonError(400, "barCode must be " + std::to_string(kBarCodeDigits) + " digits");
    }
    if (!AllDigits(q.veritaskno(), kTaskNoDigits)) {
        return JsonError(400, "veriTaskNo must be " + std::to_string(kTaskNoDigits) + " digits");
    }

    // 2. The caller must still be a registered organisation of the chain.
    auto org = m_store.GetState("governance/org/" + request.organisation);
    if (!org.ok() || !org->has_value()) {
        return JsonError(403, "organisation '" + request.organisation +
                                  "' is not registered on this chain");
    }

    // 3. The stored record, and whether the chain lets the caller read it.
    const std::string record_id = q.barcode() + "|" + q.veritaskno();
    const std::string state_key =
        contracts::RecordStateKey(v1::RECORD_VERIFICATION_RESULT, record_id);
    auto value = m_store.GetState(state_key);
    if (!value.ok()) return JsonError(500, "state read failed: " + value.status().message());
    if (!value->has_value()) {
        return JsonError(404, "no verification result for this barCode and veriTaskNo");
    }
    v1::StoredRecord stored;
    if (!stored.ParseFromArray((*value)->data(), static_cast<int>((*value)->size()))) {
        return JsonError(500, "stored record does not parse");
    }
    bool allowed = stored.owner() == request.organisation;
    if (stored.storage_class() == v1::STORAGE_PUBLIC_ENCRYPTED) {
        for (const auto& w : stored.wrapped_keys()) allowed = allowed || w.org() == request.organisation;
    }
    if (!allowed) {
        return JsonError(403, "organisation '" + request.organisation +
                                  "' may not read this verification result");
    }

    // 4. The plaintext (cached per digest), then the Appendix B answer.
    auto opened = Open(state_key, record_id, stored);
    if (!opened.ok()) {
        const Status& s = opened.status();
        if (s.code() == StatusCode::kCorruption) {
            MC_LOG(kWarn, "gateway", "record failed its digest check")("key", state_key);
            return JsonError(500, "the record failed its on-chain digest check (tampering)");
        }
        if (s.code() == StatusCode::kPermissionDenied || s.code() == StatusCode::kNotFound) {
            return JsonError(503, "this node's organisation ('" + m_opt.org +
                                      "') cannot decrypt this record; ask a node of an "
                                      "organisation that reads it");
        }
        return JsonError(500, "cannot open the record: " + s.message());
    }
    if (q.tablecode().empty()) return JsonEnvelope(200, (*opened)->json, kSuccessMsg);
    v1::VerificationResult one = *(*opened)->record;
    one.clear_table_names();
    for (const auto& t : (*opened)->record->table_names()) {
        if (t.table_code() == q.tablecode()) *one.add_table_names() = t;
    }
    if (one.table_names().empty()) {
        return JsonError(404, "no test item with this tableCode in the verification result");
    }
    auto json = ToJson(one);
    if (!json.ok()) return JsonError(500, json.status().message());
    return JsonEnvelope(200, *json, kSuccessMsg);
}

Result<std::shared_ptr<const VerificationQuery::Opened>> VerificationQuery::Open(
    const std::string& state_key, const std::string& record_id, const v1::StoredRecord& stored) {
    {
        std::lock_guard lock(m_mu);
        auto it = m_index.find(state_key);
        if (it != m_index.end() && it->second->second->digest == stored.digest()) {
            m_lru.splice(m_lru.begin(), m_lru, it->second);
            if (m_cache_hits != nullptr) m_cache_hits->Add();
            return it->second->second;
        }
    }
    if (m_cache_misses != nullptr) m_cache_misses->Add();
    Result<Bytes> content = NotFound("not opened");
    if (stored.storage_class() == v1::STORAGE_PUBLIC_ENCRYPTED) {
        content = contracts::OpenPublicRecord(m_opt.chain_id, stored, record_id, m_opt.org, m_key);
    } else if (stored.owner() == m_opt.org) {
        content = m_vault.LoadVerified(v1::RECORD_VERIFICATION_RESULT, record_id,
                                       AsBytes(stored.digest()));
    } else {
        return NotFound("digest-only record of another organisation");
    }
    if (!content.ok()) return content.status();
    auto record = std::make_shared<v1::VerificationResult>();
    MC_RETURN_IF_ERROR(contracts::ParseProto(*content, record.get(), "VerificationResult"));
    auto json = ToJson(*record);
    if (!json.ok()) return json.status();
    auto opened = std::make_shared<Opened>();
    opened->digest = stored.digest();
    opened->record = std::move(record);
    opened->json = std::move(*json);

    std::lock_guard lock(m_mu);
    auto it = m_index.find(state_key);
    if (it != m_index.end()) {
        m_lru.erase(it->second);
        m_index.erase(it);
    }
    m_lru.emplace_front(state_key, opened);
    m_index[state_key] = m_lru.begin();
    while (m_lru.size() > m_opt.cache_entries) {
        m_index.erase(m_lru.back().first);
        m_lru.pop_back();
    }
    return std::shared_ptr<const Opened>(opened);
}

}  // namespace meterchain::gateway
