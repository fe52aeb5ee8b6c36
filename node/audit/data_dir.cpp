#include "node/audit/data_dir.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

namespace meterchain::audit {
namespace fs = std::filesystem;

namespace {

constexpr int kCopyAttempts = 3;

// LevelDB's files in an order that keeps a copy of a live database consistent as often as
// possible: CURRENT and the manifests first (they name the tables), then the logs, then the
// tables (which compactions only ever add and delete, never change).
int CopyRank(const std::string& name) {
    if (name == "CURRENT" || name.rfind("MANIFEST-", 0) == 0) return 0;
    if (name.size() > 4 && name.substr(name.size() - 4) == ".log") return 1;
    return 2;
}

Status CopyDatabase(const std::string& from, const std::string& to) {
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(from, ec)) {
        if (entry.is_regular_file()) names.push_back(entry.path().filename().string());
    }
    if (ec) return IoError("cannot list " + from + ": " + ec.message());
    std::stable_sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
        return CopyRank(a) < CopyRank(b);
    });
    for (const std::string& name : names) {
        if (name == "LOCK") continue;
        fs::copy_file(fs::path(from) / name, fs::path(to) / name,
                      fs::copy_options::overwrite_existing, ec);
        // A file the node deleted meanwhile (an obsolete log or table) is not needed.
        if (ec && ec != std::errc::no_such_file_or_directory) {
            return IoError("cannot copy " + (fs::path(from) / name).string() + " to " + to +
                           ": " + ec.message());
        }
        ec.clear();
    }
    return Status::Ok();
}

Result<std::string> MakeTempDir() {
    std::error_code ec;
    fs::path base = fs::temp_directory_path(ec);
    if (ec) base = "/tmp";
    std::string pattern = (base / "meterchain-audit-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        return IoError("cannot create a temporary directory under " + base.string());
    }
    return pattern;
}

}  // namespace

OpenedChain::~OpenedChain() {
    kv.reset();
    if (!copy_dir.empty()) {
        std::error_code ec;
        fs::remove_all(copy_dir, ec);
    }
}

Result<std::string> ChainDirectory(const std::string& dir) {
    std::error_code ec;
    if (fs::exists(fs::path(dir) / "chain" / "CURRENT", ec)) return (fs::path(dir) / "chain").string();
    if (fs::exists(fs::path(dir) / "CURRENT", ec)) return dir;
    return NotFound("no chain database in " + dir +
                    " (expected a node's data_dir holding chain/, or a LevelDB directory)");
}

Result<std::unique_ptr<OpenedChain>> OpenChainForAudit(const std::string& dir,
                                                       const OpenChainOptions& options) {
    auto path = ChainDirectory(dir);
    if (!path.ok()) return path.status();
    auto opened = std::make_unique<OpenedChain>();
    opened->source = *path;
    storage::LevelDbOptions db_options;
    db_options.create_if_missing = false;
    if (!options.always_copy) {
        auto kv = storage::OpenLevelDb(*path, db_options);
        if (kv.ok()) {
            opened->kv = std::move(*kv);
            return opened;
        }
        if (kv.status().code() != StatusCode::kLocked) return kv.status();
        if (options.say) {
            options.say(*path + " is locked by a running node: reading a copy of it, "
                        "removed afterwards");
        }
    } else if (options.say) {
        options.say("reading a copy of " + *path + ", removed afterwards");
    }
    Status last;
    for (int attempt = 0; attempt < kCopyAttempts; ++attempt) {
        auto temp = MakeTempDir();
        if (!temp.ok()) return temp.status();
        opened->copy_dir = *temp;  // removed by ~OpenedChain, also on failure
        MC_RETURN_IF_ERROR(CopyDatabase(*path, *temp));
        auto kv = storage::OpenLevelDb(*temp, db_options);
        if (kv.ok()) {
            opened->kv = std::move(*kv);
            return opened;
        }
        last = kv.status();
        std::error_code ec;
        fs::remove_all(*temp, ec);
        opened->copy_dir.clear();
    }
    return Status(last.code(), "the copy of " + *path + " does not open (the node kept "
                               "changing it): " + last.message());
}

}  // namespace meterchain::audit
