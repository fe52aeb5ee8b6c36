// Export of a stored chain for auditors' own tools: blocks, transactions (decoded, with their
// receipts) and the Validity contract's result sets, as JSON lines or CSV. Nothing is
// decrypted: sealed records and wrapped keys stay ciphertext (base64 in the decoded
// arguments). Records come in chain order: a block, then its transactions, each followed by
// the result set it produced, if any.
//
// JSON lines: one object per line with "record": "block" | "transaction" | "validity_result".
// CSV: one header line (kCsvColumns), then one row per block, per transaction, per result set
// ("validity_result") and per record judged in a result set ("validity_record"); columns a row
// has no value for are empty.
//
// The export reads what the node stored and does not check it (that is the replay's job).
//
// Thread-safety: Export may run concurrently with other reads of the store.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "node/base/status.h"
#include "node/storage/kv_store.h"

namespace meterchain::audit {

enum class ExportFormat { kJsonl, kCsv };

struct ExportOptions {
    uint64_t from = 0;
    uint64_t to = 0;  // inclusive; must not be above the stored tip
    ExportFormat format = ExportFormat::kJsonl;
};

struct ExportCounts {
    uint64_t blocks = 0;
    uint64_t transactions = 0;
    uint64_t validity_results = 0;
};

// The CSV columns, in order.
const std::vector<std::string_view>& CsvColumns();

// Writes heights options.from..options.to of `chain` to `out`. Errors: kInvalidArgument for
// from > to or a range above the tip, kNotFound for an empty store, kCorruption for a
// block record that is missing or does not parse, kIoError when writing fails.
Result<ExportCounts> Export(const storage::KvStore& chain, const ExportOptions& options,
                            std::ostream& out);

}  // namespace meterchain::audit
