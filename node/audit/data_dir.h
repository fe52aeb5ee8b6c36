// Opening a node's stored chain for reading by an audit tool (replay, export).
//
// LevelDB has no read-only mode, and a running node holds the lock of its database. A tool
// therefore opens the database in place when it is free (LevelDB may then recover its log,
// as the node would on its next start; the chain's records are not changed), and reads a copy
// in a temporary directory when a node holds the lock or the caller asks for a copy. The copy
// is removed when the OpenedChain is destroyed.
//
// Thread-safety: an OpenedChain's store may be read concurrently; the object itself is not
// shared.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "node/base/status.h"
#include "node/storage/kv_store.h"

namespace meterchain::audit {

struct OpenedChain {
    OpenedChain() = default;
    OpenedChain(const OpenedChain&) = delete;
    OpenedChain& operator=(const OpenedChain&) = delete;
    ~OpenedChain();  // closes the store, then removes copy_dir

    std::unique_ptr<storage::KvStore> kv;
    std::string source;    // the node's LevelDB directory
    std::string copy_dir;  // the copy read instead, or empty
};

struct OpenChainOptions {
    bool always_copy = false;
    // Told one line when the chain is read from a copy (and why).
    std::function<void(const std::string&)> say;
};

// The LevelDB directory of a data dir: `dir`/chain when it holds a database (a node's
// data_dir), `dir` itself when it is one. kNotFound otherwise.
Result<std::string> ChainDirectory(const std::string& dir);

// Opens the chain of data dir `dir` (see ChainDirectory), from a copy when it is locked or
// options.always_copy. Errors: kNotFound (no database), kIoError (copy failed), kCorruption
// from LevelDB (after three fresh copies of a database that changed while being copied).
Result<std::unique_ptr<OpenedChain>> OpenChainForAudit(const std::string& dir,
                                                       const OpenChainOptions& options = {});

}  // namespace meterchain::audit
