// Fills the organisations' SM2 public keys into a genesis JSON document.
//
// The genesis format (ContractsGenesis, proto/metrology.proto) is defined elsewhere and may
// change, so this works on the JSON text generically instead of on a message type. ASSUMED
// SHAPE, the only part of the format this depends on:
//   { ..., "organisations": [ { "name": "...", "role": "...", "publicKey": "...", ... }, ... ] }
// i.e. a top-level object whose "organisations" member is an array of objects, each with a
// string "name" and/or "role", and the key in "publicKey" (proto3 JSON name of a field
// `public_key`; an existing "public_key" member is updated instead if present).
// Everything else in the document, including formatting, key order and number spelling, is
// left byte-for-byte as it was.
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "node/base/status.h"

namespace meterchain::config {

// For each object in the top-level "organisations" array whose "name" matches a key of
// `public_keys` — or, failing that, whose "role" does — sets its "publicKey" to the mapped
// value (replacing an existing one, or adding the member). Objects that match nothing are
// left alone. A document without "organisations" is returned unchanged.
// `filled`, if given, receives the number of organisations updated.
// kInvalidArgument (with the byte offset) when the text is not valid JSON, the top level is not
// an object, or "organisations" is present but not an array.
Result<std::string> FillGenesisKeys(std::string_view json_text,
                                    const std::map<std::string, std::string>& public_keys,
                                    size_t* filled = nullptr);

// Sets every member of the JSON object `members_json` at the top level of `json_text`: the
// value of an existing member of that name is replaced, a new member is appended after the
// last one (following its layout, like FillGenesisKeys). Everything else is left
// byte-for-byte. Used to add the wrapped chain validation key to a genesis.
// kInvalidArgument when either text is not a JSON object.
Result<std::string> SetTopLevelMembers(std::string_view json_text, std::string_view members_json);

}  // namespace meterchain::config
