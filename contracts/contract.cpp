#include "contracts/contract.h"

namespace meterchain::contracts {

Status Registry::Register(std::unique_ptr<Contract> contract) {
    std::string name(contract->Name());
    if (name.empty() || name.find('/') != std::string::npos) {
        return InvalidArgument("contract name '" + name + "' must be non-empty without '/'");
    }
    if (m_contracts.count(name) != 0) {
        return {StatusCode::kAlreadyExists, "contract '" + name + "' is already registered"};
    }
    m_contracts.emplace(std::move(name), std::move(contract));
    return Status::Ok();
}

Contract* Registry::Find(std::string_view name) const {
    auto it = m_contracts.find(name);
    return it == m_contracts.end() ? nullptr : it->second.get();
}

std::optional<Bytes> MemoryState::Get(std::string_view key) const {
    auto it = m_data.find(key);
    if (it == m_data.end()) return std::nullopt;
    return it->second;
}

void MemoryState::Put(std::string_view key, ByteView value) {
    Bytes v(value.begin(), value.end());
    m_data.insert_or_assign(std::string(key), v);
    m_writes.insert_or_assign(std::string(key), std::move(v));
}

void MemoryState::Delete(std::string_view key) {
    auto it = m_data.find(key);
    if (it != m_data.end()) m_data.erase(it);
    m_writes.insert_or_assign(std::string(key), std::nullopt);
}

void MemoryState::Scan(std::string_view prefix,
                       const std::function<bool(std::string_view, ByteView)>& fn) const {
    for (auto it = m_data.lower_bound(prefix); it != m_data.end(); ++it) {
        if (it->first.compare(0, prefix.size(), prefix) != 0) break;
        if (!fn(it->first, it->second)) break;
    }
}

}  // namespace meterchain::contracts
