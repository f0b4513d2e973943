#pragma once
// The daemon's method table as seatbridgectl sees it: names, parameters and their
// allowed values. The definition is generated at build time by
// `seatbridge-protocol-doc --ctl-index` from the same table the daemon validates
// against, so completion cannot offer a method the daemon lacks or miss a new one.
namespace sb::ctl {

// [{"name": "Agent.setStatus", "params": [{"name", "type", "required", "oneOf": [...]}]}, ...]
extern const char* const kMethodIndexJson;

}  // namespace sb::ctl
