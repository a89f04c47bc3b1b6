// How well the learned simulator's objective agrees with the ground truth's on each task: the
// measure that decides whether designs transfer, independent of any optimizer. For every task it
// rolls out the task's own design and random perturbations of it (each parameter moved uniformly
// by up to --spread of its range) in both simulators and prints the exact objectives' mean
// absolute difference, their rank correlation (does the learned simulator order designs as the
// ground truth does?) and the mean learned-minus-truth bias.
//
//   ./build/benchmarks/objective_agreement [--model M] [--designs 16] [--spread 0.3] [--seed 1]
//                                          [--tasks contain,ramp] [--jobs 2] [--csv FILE] [--baseline CSV]
//   ./build/benchmarks/objective_agreement [--model M] --design-files DIR [--jobs 2] [--csv FILE] [--baseline CSV]
//     instead: the saved designs in DIR (every *.json, each on the task it names, tasks/NAME.json),
//     e.g. the best designs of design_results --designs: how much optimized designs over-promise
//
// --csv writes every design's objectives and parameters; --baseline CSV (another model's --csv on
// the same designs, or the same model checked in other physics) then compares the two design by
// design: per task the mean change of |learned - truth| with its standard error, how many designs
// came closer and farther, and a sign test.
//
// Deterministic: the designs depend only on the task, --seed and --spread.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "design/design_problem.h"
#include "design/ground_truth_problem.h"
#include "design/search.h"
#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/model_file.h"
#include "simulator/training/paired_comparison.h"
#include "tasks/file_util.h"
#include "tasks/task_io.h"

using namespace flowdesign;

namespace {

struct Sample {
  size_t task = 0;  // index into the task list
  int design = 0;
  std::string file;              // the design file, with --design-files
  std::vector<double> x;         // its parameters; empty: design `design` of the random ones
  double learned = 0.0, truth = 0.0;
};

// A sample's first three CSV fields: which design of which task.
std::string SampleKey(const std::string& task, const Sample& s) {
  return task + "," + std::to_string(s.design) + "," + s.file;
}

// The design parameters as the CSV's last field, exactly (17 digits), so that a baseline's
// designs can be checked to be the same.
std::string ParameterText(const std::vector<double>& x) {
  std::ostringstream text;
  text.precision(17);
  for (size_t i = 0; i < x.size(); ++i) text << (i > 0 ? " " : "") << x[i];
  return text.str();
}

std::string CsvRow(const std::string& task, const Sample& s) {
  std::ostringstream row;
  row.precision(17);
  row << SampleKey(task, s) << "," << s.learned << "," << s.truth << "," << ParameterText(s.x) << "\n";
  return row.str();
}

// A baseline's rows by SampleKey: (|learned - truth|, parameters).
using BaselineRows = std::map<std::string, std::pair<double, std::string>>;

// Reads a --csv file of an earlier run (before this run simulates anything, so that a wrong file
// fails at once). Throws naming the file, the line and the reason.
BaselineRows ReadBaseline(const std::string& path) {
  BaselineRows rows;
  std::stringstream in(tasks::ReadFile(path));
  std::string line;
  if (!std::getline(in, line) || line != "task,design,file,learned,ground_truth,parameters") {
    throw std::invalid_argument(path + ": line 1: not a CSV of objective_agreement --csv (with parameters)");
  }
  for (int number = 2; std::getline(in, line); ++number) {
    std::vector<std::string> fields;
    std::stringstream cells(line);
    for (std::string cell; std::getline(cells, cell, ',');) fields.push_back(cell);
    const std::string where = path + ": line " + std::to_string(number);
    if (fields.size() != 6) throw std::invalid_argument(where + ": expected 6 fields");
    double learned = 0.0, truth = 0.0;
    try {
      learned = std::stod(fields[3]);
      truth = std::stod(fields[4]);
    } catch (const std::exception&) {
      throw std::invalid_argument(where + ": learned and ground_truth must be numbers");
    }
    rows[fields[0] + "," + fields[1] + "," + fields[2]] = {std::abs(learned - truth), fields[5]};
  }
  return rows;
}

// The baseline's |learned - truth| for every sample. Throws naming the file, the row and the
// reason when a design is missing or has other parameters.
std::vector<double> BaselineAbsDifferences(const BaselineRows& rows, const std::string& path,
                                           const std::vector<tasks::Task>& task_list, const std::vector<Sample>& samples) {
  std::vector<double> out;
  for (const Sample& s : samples) {
    const std::string key = SampleKey(task_list[s.task].name, s);
    const auto it = rows.find(key);
    if (it == rows.end()) throw std::invalid_argument(path + ": no row for " + key + " (other tasks or designs?)");
    if (it->second.second != ParameterText(s.x)) {
      throw std::invalid_argument(path + ": row " + key + " has other design parameters (another --seed, --spread or design file?)");
    }
    out.push_back(it->second.first);
  }
  return out;
}

void PrintPairedComparison(const BaselineRows& rows, const std::string& baseline_path,
                           const std::vector<tasks::Task>& task_list, const std::vector<Sample>& samples) {
  const std::vector<double> baseline = BaselineAbsDifferences(rows, baseline_path, task_list, samples);
  std::printf("\nagainst %s, design by design (|learned - truth| minus the baseline's):\n\n", baseline_path.c_str());
  std::printf("| task | mean change ± s.e. | median change | closer / farther | sign test p |\n|---|---|---|---|---|\n");
  for (size_t t = 0; t <= task_list.size(); ++t) {  // the last round: all tasks
    std::vector<double> delta;
    for (size_t i = 0; i < samples.size(); ++i) {
      if (t < task_list.size() && samples[i].task != t) continue;
      delta.push_back(std::abs(samples[i].learned - samples[i].truth) - baseline[i]);
    }
    if (delta.empty()) continue;
    const simulator::training::PairedDifference d = simulator::training::SummarizeDifferences(delta);
    std::printf("| %s | %+.4f ± %.4f | %+.4f | %d / %d | %.3f |\n", t < task_list.size() ? task_list[t].name.c_str() : "all",
                d.mean, d.standard_error, d.median, d.better, d.worse, d.sign_test_p);
  }
}

// One sample per design file in `dir` (sorted by name), adding the tasks they name to `task_list`.
std::vector<Sample> DesignFileSamples(const std::string& dir, std::vector<tasks::Task>* task_list) {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir))
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  if (files.empty()) throw std::invalid_argument(dir + ": no design files (*.json)");
  std::vector<Sample> samples;
  for (const std::string& file : files) {
    const nlohmann::json json = nlohmann::json::parse(tasks::ReadFile(file), nullptr, false);
    if (!json.is_object() || !json.contains("task") || !json["task"].is_string()) {
      throw std::invalid_argument(file + ": not a design file (no \"task\" name)");
    }
    const std::string name = json["task"].get<std::string>();
    auto it = std::find_if(task_list->begin(), task_list->end(), [&](const tasks::Task& t) { return t.name == name; });
    if (it == task_list->end()) it = task_list->insert(task_list->end(), tasks::LoadTask("tasks/" + name + ".json"));
    Sample sample;
    sample.task = static_cast<size_t>(it - task_list->begin());
    sample.design = static_cast<int>(std::count_if(samples.begin(), samples.end(), [&](const Sample& s) { return s.task == sample.task; }));
    sample.file = file;
    sample.x = tasks::ParseDesign(json, *it, file).parameters;
    samples.push_back(std::move(sample));
  }
  return samples;
}

// Ranks 0..n-1 (ties share their mean rank).
std::vector<double> Ranks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> ranks(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = 0.5 * static_cast<double>(i + j);
    i = j + 1;
  }
  return ranks;
}

double Pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n, mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0.0, saa = 0.0, sbb = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return saa > 0.0 && sbb > 0.0 ? sab / std::sqrt(saa * sbb) : std::nan("");
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) parts.push_back(part);
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  std::string model_path = "models/default/model.fdm", csv_path, design_dir, baseline_path;
  std::string task_names = "contain,ramp,maze,contain_4,contain_8,contain_16,contain_32,contain_48";
  int designs = 16, jobs = 2;
  double spread = 0.3;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    try {
      if (arg == "--model") model_path = next();
      else if (arg == "--designs") designs = std::stoi(next());
      else if (arg == "--spread") spread = std::stod(next());
      else if (arg == "--seed") seed = std::stoull(next());
      else if (arg == "--tasks") task_names = next();
      else if (arg == "--jobs") jobs = std::stoi(next());
      else if (arg == "--csv") csv_path = next();
      else if (arg == "--design-files") design_dir = next();
      else if (arg == "--baseline") baseline_path = next();
      else throw std::invalid_argument("unknown option " + arg);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s\nusage: objective_agreement [--model M] [--designs N] [--spread S] [--seed N] "
                           "[--tasks NAME,NAME] [--jobs K] [--csv FILE] [--design-files DIR] [--baseline CSV]\n", e.what());
      return 2;
    }
  }
  if (designs < 2 || jobs < 1 || !(spread > 0.0 && spread <= 1.0)) {
    std::fprintf(stderr, "need --designs >= 2, --jobs >= 1 and --spread in (0, 1]\n");
    return 2;
  }
  try {
  const BaselineRows baseline_rows = baseline_path.empty() ? BaselineRows{} : ReadBaseline(baseline_path);
  simulator::learned::ModelFile file;
  auto simulator = simulator::learned::LoadModel(model_path, &file);
  simulator::learned::ConfigureTorchThreads(1);  // the jobs run in parallel instead

  std::vector<tasks::Task> task_list;
  std::vector<Sample> samples;
  if (!design_dir.empty()) {
    samples = DesignFileSamples(design_dir, &task_list);
  } else {
    for (const std::string& name : SplitCommas(task_names)) task_list.push_back(tasks::LoadTask("tasks/" + name + ".json"));
    for (size_t t = 0; t < task_list.size(); ++t)
      for (int k = 0; k < designs; ++k) {
        Sample sample;
        sample.task = t;
        sample.design = k;
        samples.push_back(sample);
      }
  }

  std::atomic<size_t> next_sample{0};
  auto worker = [&]() {
    for (size_t s; (s = next_sample++) < samples.size();) {
      const tasks::Task& task = task_list[samples[s].task];
      const design::DesignProblem problem(task, *simulator);
      // Design 0 is the task's own; design k > 0 is the k-th perturbation of search 1.
      if (samples[s].x.empty()) {
        samples[s].x = design::StartingPoint(problem, seed, samples[s].design == 0 ? 0 : 1, spread, samples[s].design);
      }
      const std::vector<double>& x = samples[s].x;
      samples[s].learned = problem.Evaluate(x).exact;
      samples[s].truth = design::GroundTruthProblem(task, design::GroundTruthFor(simulator->Config())).Value(x);
      std::fprintf(stderr, "%-11s design %2d: learned %8.4f  ground truth %8.4f\n", task.name.c_str(), samples[s].design,
                   samples[s].learned, samples[s].truth);
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < jobs; ++j) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();

  if (design_dir.empty()) {
    std::printf("Objective agreement of %s (checksum %s): %d designs per task (the task's own and %d perturbed by up to "
                "%g of each range, seed %llu)\n\n", model_path.c_str(), file.checksum.c_str(), designs, designs - 1, spread,
                static_cast<unsigned long long>(seed));
  } else {
    std::printf("Objective agreement of %s (checksum %s) on the %zu designs in %s\n\n", model_path.c_str(),
                file.checksum.c_str(), samples.size(), design_dir.c_str());
  }
  std::printf("| task | mean abs difference | bias (learned - truth) | rank correlation | truth spread (std) |\n");
  std::printf("|---|---|---|---|---|\n");
  double all_abs = 0.0;
  for (size_t t = 0; t < task_list.size(); ++t) {
    const tasks::Task& task = task_list[t];
    std::vector<double> learned, truth;
    for (const Sample& s : samples) {
      if (s.task != t) continue;
      learned.push_back(s.learned);
      truth.push_back(s.truth);
    }
    double abs_sum = 0.0, bias = 0.0, mean_truth = 0.0, var_truth = 0.0;
    for (size_t i = 0; i < learned.size(); ++i) {
      abs_sum += std::abs(learned[i] - truth[i]);
      bias += learned[i] - truth[i];
      mean_truth += truth[i];
    }
    const double n = static_cast<double>(learned.size());
    mean_truth /= n;
    for (double t : truth) var_truth += (t - mean_truth) * (t - mean_truth);
    all_abs += abs_sum / n;
    std::printf("| %s | %.3f | %+.3f | %.2f | %.3f |\n", task.name.c_str(), abs_sum / n, bias / n,
                Pearson(Ranks(learned), Ranks(truth)), std::sqrt(var_truth / n));
  }
  std::printf("\nmean over tasks of the mean abs difference: %.3f\n", all_abs / static_cast<double>(task_list.size()));
  if (!csv_path.empty()) {
    std::string text = "task,design,file,learned,ground_truth,parameters\n";
    for (const Sample& s : samples) text += CsvRow(task_list[s.task].name, s);
    tasks::WriteFileAtomically(csv_path, text);
  }
  if (!baseline_path.empty()) PrintPairedComparison(baseline_rows, baseline_path, task_list, samples);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "objective_agreement: %s\n", e.what());
    return 1;
  }
  return 0;
}
