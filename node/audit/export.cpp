#include "node/audit/export.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <map>
#include <memory>
#include <optional>

#include "contracts/validity.h"
#include "node/audit/chain_reader.h"
#include "node/base/rpc_code.h"
#include "node/chain/proto_adapter.h"
#include "node/chain/types.h"
#include "proto/chain.pb.h"
#include "proto/metrology.pb.h"
#include "node/base/json.h"

namespace meterchain::audit {
namespace {

std::string CsvField(std::string_view s) {
    if (s.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(s);
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

// A proto message in the proto3 JSON mapping (bytes as base64), field names as in the .proto.
std::string ProtoJson(const google::protobuf::Message& m) {
    std::string out;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    if (!google::protobuf::util::MessageToJsonString(m, &out, options).ok()) return "null";
    return out;
}

// The argument message of each contract method that changes state.
std::unique_ptr<google::protobuf::Message> ArgsMessage(std::string_view contract,
                                                       std::string_view method) {
    using Factory = std::unique_ptr<google::protobuf::Message> (*)();
    static const std::map<std::pair<std::string_view, std::string_view>, Factory> kArgs = {
        {{"validity", "Validity"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                            new v1::ValiditySubmission); }},
        {{"governance", "Propose"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                             new v1::ProposeArgs); }},
        {{"governance", "Approve"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                             new v1::ApproveArgs); }},
        {{"secdata", "SecDataAccess"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                                new v1::AccessRequest); }},
        {{"secdata", "Deliver"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                          new v1::DeliverArgs); }},
        {{"secdata", "IssueCredential"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                                  new v1::AccessCredential); }},
        {{"secdata", "RevokeCredential"}, [] {
             return std::unique_ptr<google::protobuf::Message>(new v1::RevokeCredentialArgs);
         }},
        {{"secdata", "SetAccessPolicy"}, [] { return std::unique_ptr<google::protobuf::Message>(
                                                  new v1::AccessPolicy); }},
    };
    auto it = kArgs.find({contract, method});
    return it == kArgs.end() ? nullptr : it->second();
}

// One row of the CSV, by column name.
using Row = std::map<std::string_view, std::string>;

class Writer {
public:
    Writer(const ExportOptions& options, std::ostream& out) : m_opt(options), m_out(out) {}

    bool csv() const { return m_opt.format == ExportFormat::kCsv; }
    void Header() {
        if (m_opt.format != ExportFormat::kCsv) return;
        const auto& cols = CsvColumns();
        for (size_t i = 0; i < cols.size(); ++i) m_out << (i ? "," : "") << cols[i];
        m_out << "\n";
    }
    void Emit(const std::string& json, const Row& row) {
        if (m_opt.format == ExportFormat::kJsonl) {
            m_out << json << "\n";
            return;
        }
        const auto& cols = CsvColumns();
        for (size_t i = 0; i < cols.size(); ++i) {
            auto it = row.find(cols[i]);
            m_out << (i ? "," : "") << (it == row.end() ? "" : CsvField(it->second));
        }
        m_out << "\n";
    }

private:
    const ExportOptions& m_opt;
    std::ostream& m_out;
};

void EmitBlock(Writer& w, const chain::Block& b) {
    const auto& h = b.header;
    std::string signers;
    std::string sigs;
    std::string signer_list;
    for (size_t i = 0; i < b.certificate.signatures.size(); ++i) {
        const auto& s = b.certificate.signatures[i];
        signers += (i ? "," : "") + std::to_string(s.validator);
        sigs += (i ? "," : "") + JsonString(ToHex(s.signature));
        signer_list += (i ? " " : "") + std::to_string(s.validator);
    }
    const std::string json =
        "{\"record\":\"block\",\"height\":" + std::to_string(h.height) +
        ",\"hash\":" + JsonString(ToHex(b.Hash())) +
        ",\"prev_hash\":" + JsonString(ToHex(h.prev_hash)) +
        ",\"tx_root\":" + JsonString(ToHex(h.tx_root)) +
        ",\"state_root\":" + JsonString(ToHex(h.state_root)) +
        ",\"chain_id\":" + JsonString(h.chain_id) +
        ",\"proposer\":" + std::to_string(h.proposer) + ",\"view\":" + std::to_string(h.view) +
        ",\"timestamp_ms\":" + std::to_string(h.timestamp_ms) +
        ",\"transactions\":" + std::to_string(b.transactions.size()) +
        ",\"certificate\":{\"view\":" + std::to_string(b.certificate.view) + ",\"signers\":[" +
        signers + "],\"signatures\":[" + sigs + "]}}";
    w.Emit(json, {{"record", "block"},
                  {"height", std::to_string(h.height)},
                  {"hash", ToHex(b.Hash())},
                  {"prev_hash", ToHex(h.prev_hash)},
                  {"tx_root", ToHex(h.tx_root)},
                  {"state_root", ToHex(h.state_root)},
                  {"proposer", std::to_string(h.proposer)},
                  {"view", std::to_string(h.view)},
                  {"timestamp_ms", std::to_string(h.timestamp_ms)},
                  {"tx_count", std::to_string(b.transactions.size())},
                  {"signers", signer_list}});
}

// Decoded payload of a transaction (JSON object) and the CSV columns it fills.
std::string DecodePayload(const chain::TxBody& body, Row& row) {
    switch (static_cast<chain::TxType>(body.type)) {
        case chain::TxType::kStatePut: {
            v1::StatePut put;
            if (!put.ParseFromArray(body.payload.data(), static_cast<int>(body.payload.size()))) {
                break;
            }
            row["key"] = put.key();
            return "{\"key\":" + JsonString(put.key()) +
                   ",\"value_hex\":" + JsonString(ToHex(AsBytes(put.value()))) + "}";
        }
        case chain::TxType::kContractCall: {
            v1::ContractCall call;
            if (!call.ParseFromArray(body.payload.data(), static_cast<int>(body.payload.size()))) {
                break;
            }
            row["contract"] = call.contract();
            row["method"] = call.method();
            std::string args;
            auto message = ArgsMessage(call.contract(), call.method());
            if (message && message->ParseFromString(call.args())) {
                args = ",\"args\":" + ProtoJson(*message);
                if (auto* sub = dynamic_cast<v1::ValiditySubmission*>(message.get())) {
                    row["batch_id"] = sub->batch_id();
                }
            } else {
                args = ",\"args_hex\":" + JsonString(ToHex(AsBytes(call.args())));
            }
            return "{\"contract\":" + JsonString(call.contract()) +
                   ",\"method\":" + JsonString(call.method()) + args + "}";
        }
        default:
            break;
    }
    return "{\"payload_hex\":" + JsonString(ToHex(body.payload)) + "}";
}

const char* TxTypeName(uint32_t type) {
    switch (static_cast<chain::TxType>(type)) {
        case chain::TxType::kStatePut: return "TX_STATE_PUT";
        case chain::TxType::kContractCall: return "TX_CONTRACT_CALL";
        default: return "TX_UNSPECIFIED";
    }
}

Status EmitTransaction(Writer& w, const ChainReader& reader, const chain::Block& b, uint32_t i,
                       ExportCounts& counts) {
    const chain::Transaction& tx = b.transactions[i];
    const Hash256 hash = tx.Hash();
    Row row{{"record", "transaction"},
            {"height", std::to_string(b.header.height)},
            {"tx_index", std::to_string(i)},
            {"hash", ToHex(hash)}};
    std::string json = "{\"record\":\"transaction\",\"height\":" +
                       std::to_string(b.header.height) + ",\"index\":" + std::to_string(i) +
                       ",\"hash\":" + JsonString(ToHex(hash));
    auto body = chain::TxBody::Parse(tx.body);
    if (body.ok()) {
        row["sender"] = ToHex(body->sender);
        row["nonce"] = std::to_string(body->nonce);
        row["tx_type"] = TxTypeName(body->type);
        row["timestamp_ms"] = std::to_string(body->timestamp_ms);
        json += ",\"sender\":" + JsonString(ToHex(body->sender)) +
                ",\"nonce\":" + std::to_string(body->nonce) +
                ",\"timestamp_ms\":" + std::to_string(body->timestamp_ms) +
                ",\"type\":" + JsonString(TxTypeName(body->type)) +
                ",\"payload\":" + DecodePayload(*body, row);
    } else {
        json += ",\"body_error\":" + JsonString(body.status().message()) +
                ",\"body_hex\":" + JsonString(ToHex(tx.body));
    }
    json += ",\"signature\":" + JsonString(ToHex(tx.signature));
    auto rec = reader.TxRecord(hash);
    if (!rec.ok()) return rec.status();
    if (*rec) {
        // The numbering clients see in TxStatus.code (gRPC status codes), not the stored one.
        const uint32_t code = RpcCode(static_cast<StatusCode>((*rec)->receipt.code));
        row["receipt_code"] = std::to_string(code);
        row["receipt_message"] = (*rec)->receipt.message;
        json += ",\"receipt\":{\"code\":" + std::to_string(code) +
                ",\"message\":" + JsonString((*rec)->receipt.message) + "}";
    } else {
        json += ",\"receipt\":null";
    }
    w.Emit(json + "}", row);
    counts.transactions += 1;

    // The result set this transaction produced, from the stored state.
    auto result_bytes = reader.State(contracts::ValidityResultKey(hash));
    if (!result_bytes.ok()) return result_bytes.status();
    if (!*result_bytes) return Status::Ok();
    v1::ValidityResult result;
    if (!result.ParseFromArray((*result_bytes)->data(), static_cast<int>((*result_bytes)->size()))) {
        return Corruption("the validity result of transaction " + ToHex(hash) +
                          " does not parse");
    }
    counts.validity_results += 1;
    const std::string height = std::to_string(b.header.height);
    w.Emit("{\"record\":\"validity_result\",\"height\":" + height +
               ",\"tx_hash\":" + JsonString(ToHex(hash)) + ",\"result\":" + ProtoJson(result) +
               "}",
           {{"record", "validity_result"},
            {"height", height},
            {"tx_index", std::to_string(i)},
            {"hash", ToHex(hash)},
            {"batch_id", result.batch_id()},
            {"submitter", result.submitter()},
            {"valid", result.valid() ? "true" : "false"},
            {"valid_count", std::to_string(result.valid_count())},
            {"reason", result.signature_error()}});
    if (w.csv()) {
        // JSON lines carry the records inside the result; CSV gives each its own row.
        for (const auto& r : result.results()) {
            w.Emit("", {{"record", "validity_record"},
                        {"height", height},
                        {"tx_index", std::to_string(i)},
                        {"hash", ToHex(hash)},
                        {"batch_id", result.batch_id()},
                        {"record_index", std::to_string(r.index())},
                        {"record_type", v1::RecordType_Name(r.type())},
                        {"record_key", r.record_key()},
                        {"valid", r.valid() ? "true" : "false"},
                        {"rule_id", r.rule_id()},
                        {"reason", r.reason()}});
        }
    }
    return Status::Ok();
}

}  // namespace

const std::vector<std::string_view>& CsvColumns() {
    static const std::vector<std::string_view> kColumns = {
        "record",      "height",       "tx_index",    "hash",          "prev_hash",
        "tx_root",     "state_root",   "proposer",    "view",          "timestamp_ms",
        "tx_count",    "signers",      "sender",      "nonce",         "tx_type",
        "key",         "contract",     "method",      "receipt_code",  "receipt_message",
        "batch_id",    "submitter",    "valid",       "valid_count",   "record_index",
        "record_type", "record_key",   "rule_id",     "reason"};
    return kColumns;
}

Result<ExportCounts> Export(const storage::KvStore& chain, const ExportOptions& options,
                            std::ostream& out) {
    if (options.from > options.to) {
        return InvalidArgument("--from " + std::to_string(options.from) + " is above --to " +
                               std::to_string(options.to));
    }
    ChainReader reader(chain);
    auto tip = reader.Tip();
    if (!tip.ok()) return tip.status();
    if (!*tip) return NotFound("the store holds no chain (no tip record)");
    if (options.to > (*tip)->height) {
        return InvalidArgument("--to " + std::to_string(options.to) + " is above the stored tip " +
                               std::to_string((*tip)->height));
    }
    Writer w(options, out);
    w.Header();
    ExportCounts counts;
    for (uint64_t h = options.from; h <= options.to; ++h) {
        auto bytes = reader.BlockBytes(h);
        if (!bytes.ok()) return bytes.status();
        if (!*bytes) return Corruption("block " + std::to_string(h) + " is missing below the tip");
        auto block = chain::ParseBlock(**bytes);
        if (!block.ok()) {
            return Corruption("block " + std::to_string(h) +
                              " does not parse: " + block.status().message());
        }
        EmitBlock(w, *block);
        counts.blocks += 1;
        for (uint32_t i = 0; i < block->transactions.size(); ++i) {
            MC_RETURN_IF_ERROR(EmitTransaction(w, reader, *block, i, counts));
        }
        if (!out) return IoError("writing the export failed");
    }
    out.flush();
    if (!out) return IoError("writing the export failed");
    return counts;
}

}  // namespace meterchain::audit
