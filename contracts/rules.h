// The validity rule engine (CON-1): rules are data (v1::RuleSet, stored on chain by governance);
// this file compiles and evaluates them. The Validity contract runs it on every node; validator
// organisations run the same code off chain on the full records before signing a record set.
//
// Deterministic: no clock, randomness, floating point or unordered iteration. Each record costs
// O(rules for its type) plus at most one state read per REFERENCE / INSTITUTION / NO_DUPLICATE
// rule, so a batch is linear in its size.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "contracts/contract.h"
#include "contracts/records.h"
#include "node/base/status.h"
#include "proto/metrology.pb.h"

namespace meterchain::contracts {

struct RuleViolation {
    std::string rule_id;
    std::string reason;  // never echoes field values (results are stored on chain)
};

// What rules may look up beyond the record itself.
class RuleEnvironment {
public:
    virtual ~RuleEnvironment() = default;
    // True when a record of `type` with `record_id` is on chain or was accepted earlier in the
    // same batch.
    virtual Result<bool> RecordExists(RecordType type, std::string_view record_id) = 0;
    virtual Result<std::optional<v1::Institution>> FindInstitution(std::string_view inst_id) = 0;
    // The organisation uploading the records.
    virtual const std::string& Uploader() const = 0;
    // The executing block's timestamp (ms since the epoch); nullopt where there is no block (a
    // validator checking off chain): RULE_DATE_PLAUSIBLE then skips the "not after" check.
    virtual std::optional<uint64_t> BlockTimeMs() const { return std::nullopt; }
    // The arrival date ("YYYY-MM-DD") of the batch of the meter with `bar_code`; nullopt when
    // the meter or its batch is unknown.
    virtual Result<std::optional<std::string>> MeterArrivalDate(std::string_view bar_code) {
        (void)bar_code;
        return std::optional<std::string>();
    }
};

// RuleEnvironment over a StateView plus the records accepted so far in this batch.
// Not thread-safe; `state` must outlive it.
class StateRuleEnvironment : public RuleEnvironment {
public:
    StateRuleEnvironment(const StateView& state, std::string uploader)
        : m_state(state), m_uploader(std::move(uploader)) {}
    Result<bool> RecordExists(RecordType type, std::string_view record_id) override;
    Result<std::optional<v1::Institution>> FindInstitution(std::string_view inst_id) override;
    const std::string& Uploader() const override { return m_uploader; }
    std::optional<uint64_t> BlockTimeMs() const override { return m_block_time_ms; }
    // From the supervision index (contracts/supervision.h), which Validity updates as each
    // record is accepted, so meters and batches earlier in the same batch count.
    Result<std::optional<std::string>> MeterArrivalDate(std::string_view bar_code) override;
    // Marks a record as accepted in this batch (later references and duplicates see it).
    void Accept(RecordType type, std::string_view record_id);
    void SetBlockTime(uint64_t block_time_ms) { m_block_time_ms = block_time_ms; }

private:
    const StateView& m_state;
    std::string m_uploader;
    std::optional<uint64_t> m_block_time_ms;
    std::set<std::pair<int, std::string>, std::less<>> m_batch;
    std::map<std::string, std::optional<v1::Institution>, std::less<>> m_institutions;  // cache
};

class CompiledRules {
public:
    // Checks a rule set: version >= 1, rule ids non-empty and unique, known record types and
    // kinds, fields that exist in the record type, parameters each kind needs.
    // kInvalidArgument naming the offending rule.
    static Result<CompiledRules> Compile(const v1::RuleSet& rules);

    uint64_t version() const { return m_version; }
    size_t size() const { return m_count; }

    // Evaluates the rules of `type` in rule-set order and returns the first violation. For a
    // digest-only record (fields.complete() == false) a rule whose fields were not disclosed is
    // not evaluated here: the validators' signatures attest it (docs/CONTRACTS.md).
    // Errors: only state read failures (kCorruption).
    Result<std::optional<RuleViolation>> Check(RecordType type, std::string_view record_id,
                                               const RecordFields& fields,
                                               RuleEnvironment& env) const;

private:
    uint64_t m_version = 0;
    size_t m_count = 0;
    std::map<int, std::vector<v1::ValidityRule>> m_by_type;
};

// True when `value` matches `layout` ("YYYY-MM-DD", "YYYY-MM-DD hh:mm:ss", ...) and is a real
// calendar date and time.
bool MatchesDateLayout(std::string_view value, std::string_view layout);

// Milliseconds since the epoch of a local (UTC+8) date/time in `layout`; missing time parts
// count as 0. nullopt when the value does not match the layout or has no YYYY, MM and DD.
std::optional<uint64_t> LocalDateToEpochMs(std::string_view value, std::string_view layout);

}  // namespace meterchain::contracts
