#pragma once
// seatbridgectl's readable output: aligned tables and one-line events.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace sb::ctl {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(FILE* out) const;
  // The aligned lines, without newlines.
  std::vector<std::string> lines() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// A JSON value as a table cell: strings bare, null as "-", the rest compact JSON.
std::string cell(const nlohmann::json& v);
// "1h02m", "3m05s", "42s" from milliseconds.
std::string duration(int64_t ms);

void printStatus(const nlohmann::json& data, FILE* out);
void printAgents(const nlohmann::json& data, FILE* out);
void printExtensions(const nlohmann::json& data, FILE* out);
void printSessions(const nlohmann::json& data, FILE* out);
void printRecords(const nlohmann::json& data, FILE* out);
void printQueues(const nlohmann::json& data, FILE* out);
// "#1042 statusChanged alice@example.com status=rest restReason=Meal"
std::string eventSummary(const nlohmann::json& event);

}  // namespace sb::ctl
