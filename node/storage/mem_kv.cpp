#include <map>
#include <mutex>

#include "node/storage/kv_store.h"

namespace meterchain::storage {

namespace {

class MemKv final : public KvStore {
public:
    Result<std::optional<Bytes>> Get(std::string_view key) const override {
        std::lock_guard lock(m_mutex);
        auto it = m_data.find(key);
        if (it == m_data.end()) return std::optional<Bytes>();
        return std::optional<Bytes>(it->second);
    }

    // `sync` has nothing to flush here. The whole batch is applied under one lock hold, so
    // readers see all of it or none of it, as with LevelDB.
    Status Write(const KvBatch& batch, bool /*sync*/) override {
        std::lock_guard lock(m_mutex);
        for (const auto& [key, value] : batch.ops()) {
            if (value) {
                m_data.insert_or_assign(key, *value);
            } else {
                m_data.erase(key);
            }
        }
        return Status::Ok();
    }

    Status Scan(std::string_view prefix,
                const std::function<bool(std::string_view, ByteView)>& fn) const override {
        return ScanFrom(prefix, prefix, fn);
    }

    // `fn` runs with the lock held (like a LevelDB iterator's snapshot, it sees one consistent
    // state), so it must not call back into this store.
    Status ScanFrom(std::string_view prefix, std::string_view start,
                    const std::function<bool(std::string_view, ByteView)>& fn) const override {
        std::lock_guard lock(m_mutex);
        for (auto it = m_data.lower_bound(start < prefix ? prefix : start); it != m_data.end();
             ++it) {
            if (!std::string_view(it->first).starts_with(prefix)) break;
            if (!fn(it->first, it->second)) break;
        }
        return Status::Ok();
    }

private:
    mutable std::mutex m_mutex;
    std::map<std::string, Bytes, std::less<>> m_data;  // guarded by m_mutex
};

}  // namespace

std::unique_ptr<KvStore> NewMemKv() { return std::make_unique<MemKv>(); }

}  // namespace meterchain::storage
