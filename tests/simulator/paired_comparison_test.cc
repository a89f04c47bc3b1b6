// evaluate-model --baseline: two models compared trajectory by trajectory.
#include "tests/torch_catch.h"

#include <cmath>

#include "simulator/training/paired_comparison.h"

using namespace flowdesign::simulator::training;

namespace {

// An evaluation with the given per-trajectory errors at 100 steps and at the end.
EvaluationReport Report(const std::vector<double>& at_100, const std::vector<double>& at_end) {
  EvaluationReport report;
  report.trajectories = static_cast<int>(at_100.size());
  HorizonError h100, end;
  h100.steps = 100;
  h100.trajectory_errors_spacings = at_100;
  end.steps = -1;
  end.trajectory_errors_spacings = at_end;
  report.horizons = {h100, end};
  return report;
}

}  // namespace

TEST_CASE("a paired comparison: per-trajectory differences, their spread, and a sign test", "[learned][evaluation]") {
  const nlohmann::json source{{"data", "/data/default"}, {"split", "test"}};
  nlohmann::json baseline = Report({5, 6, 7, 8}, {10, 10, 10, 10}).ToJson();
  baseline.update(source);
  const EvaluationReport report = Report({4, 6, 5, 9}, {9, 8, 7, 6});
  const std::vector<PairedDifference> d = ComparePaired(report, source, baseline, "base.json");
  REQUIRE(d.size() == 2);
  // Differences at 100 steps: -1, 0, -2, +1.
  CHECK(d[0].steps == 100);
  CHECK(d[0].mean == Approx(-0.5));
  CHECK(d[0].median == Approx(-0.5));
  CHECK(d[0].standard_error == Approx(std::sqrt((0.25 + 0.25 + 2.25 + 2.25) / 3.0 / 4.0)));
  CHECK(d[0].better == 2);
  CHECK(d[0].worse == 1);  // the tie counts in neither
  CHECK(d[0].sign_test_p == Approx(1.0));
  // At the end every trajectory got better: -1, -2, -3, -4.
  CHECK(d[1].steps == -1);
  CHECK(d[1].mean == Approx(-2.5));
  CHECK(d[1].better == 4);
  CHECK(d[1].sign_test_p == Approx(2.0 / 16.0));
  CHECK(PairedTable(d, "base.json").find("4 /   0") != std::string::npos);
  CHECK(PairedToJson(d, "base.json")["horizons"][1]["steps"] == "end");
}

TEST_CASE("paired differences summarized: mean, standard error, median, better and worse", "[learned][evaluation]") {
  const PairedDifference d = SummarizeDifferences({0.3, -0.1, -0.2, 0.0, -0.5});
  CHECK(d.mean == Approx(-0.1));
  CHECK(d.median == Approx(-0.1));
  CHECK(d.standard_error == Approx(std::sqrt((0.16 + 0.0 + 0.01 + 0.01 + 0.16) / 4.0 / 5.0)));
  CHECK(d.better == 3);
  CHECK(d.worse == 1);
  CHECK(d.sign_test_p == Approx(SignTestP(3, 1)));
  CHECK(SummarizeDifferences({2.0}).standard_error == 0.0);
  REQUIRE_THROWS_WITH(SummarizeDifferences({}), "no differences to summarize");
}

TEST_CASE("the sign test: fair splits are likely, lopsided ones are not", "[learned][evaluation]") {
  CHECK(SignTestP(0, 0) == 1.0);
  CHECK(SignTestP(5, 5) == Approx(1.0));
  CHECK(SignTestP(10, 0) == Approx(2.0 / 1024.0));
  CHECK(SignTestP(0, 10) == Approx(2.0 / 1024.0));
  CHECK(SignTestP(9, 1) == Approx(2.0 * 11.0 / 1024.0));
  CHECK(SignTestP(18, 6) == Approx(0.02266).epsilon(1e-3));  // 24 scenes, 3 of 4 better
  CHECK(SignTestP(1000, 1000) == Approx(1.0));                // large n stays finite
}

TEST_CASE("a baseline from other data, another split, other horizons or trajectories is rejected", "[learned][evaluation]") {
  const nlohmann::json source{{"data", "/data/default"}, {"split", "test"}};
  const EvaluationReport report = Report({4, 6, 5}, {9, 8, 7});
  nlohmann::json other_data = Report({4, 6, 5}, {9, 8, 7}).ToJson();
  other_data.update(source);
  other_data["data"] = "/data/taskscenes";
  CHECK_THROWS_WITH(ComparePaired(report, source, other_data, "b.json"),
                    Catch::Contains("b.json") && Catch::Contains("\"data\"") && Catch::Contains("taskscenes") &&
                        Catch::Contains("not on the same scenes"));
  // Other data made from the same scenes (another ground truth) pairs; other scenes do not.
  nlohmann::json with_scenes = source;
  with_scenes["scenes"] = "a1b2";
  other_data["scenes"] = "a1b2";
  CHECK_NOTHROW(ComparePaired(report, with_scenes, other_data, "b.json"));
  other_data["scenes"] = "c3d4";
  CHECK_THROWS_WITH(ComparePaired(report, with_scenes, other_data, "b.json"), Catch::Contains("not on the same scenes"));
  other_data.erase("scenes");
  CHECK_THROWS_WITH(ComparePaired(report, with_scenes, other_data, "b.json"), Catch::Contains("not on the same scenes"));
  other_data["scenes"] = "a1b2";
  other_data["split"] = "valid";
  CHECK_THROWS_WITH(ComparePaired(report, with_scenes, other_data, "b.json"), Catch::Contains("\"split\""));
  nlohmann::json other_split = Report({4, 6, 5}, {9, 8, 7}).ToJson();
  other_split["split"] = "valid";
  CHECK_THROWS_WITH(CheckSameSource(source, other_split, "b.json"), Catch::Contains("\"split\""));
  // An older evaluation.json without "data" and "split" is compared by its shape alone.
  CHECK_NOTHROW(ComparePaired(report, source, Report({4, 6, 5}, {9, 8, 7}).ToJson(), "old.json"));
  CHECK_THROWS_WITH(ComparePaired(report, source, Report({4, 6}, {9, 8}).ToJson(), "b.json"),
                    Catch::Contains("2 trajectories, this evaluation has 3"));
  nlohmann::json other_horizons = Report({4, 6, 5}, {9, 8, 7}).ToJson();
  other_horizons["horizons"][0]["steps"] = 50;
  CHECK_THROWS_WITH(ComparePaired(report, source, other_horizons, "b.json"), Catch::Contains("horizons[0].steps"));
  CHECK_THROWS_WITH(ComparePaired(report, source, nlohmann::json{{"trajectories", 3}}, "b.json"),
                    Catch::Contains("\"horizons\": missing"));
  nlohmann::json no_errors = Report({4, 6, 5}, {9, 8, 7}).ToJson();
  no_errors["horizons"][1].erase("trajectory_errors_spacings");
  CHECK_THROWS_WITH(ComparePaired(report, source, no_errors, "b.json"),
                    Catch::Contains("b.json: field \"horizons[1].trajectory_errors_spacings\": missing"));
  nlohmann::json text_errors = Report({4, 6, 5}, {9, 8, 7}).ToJson();
  text_errors["horizons"][0]["trajectory_errors_spacings"][2] = "7";
  CHECK_THROWS_WITH(ComparePaired(report, source, text_errors, "b.json"),
                    Catch::Contains("horizons[0].trajectory_errors_spacings\": not a list of numbers"));
}
