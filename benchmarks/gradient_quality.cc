// How trustworthy is the gradient of a task's smooth objective through a learned model's long
// rollout? Prints, at the task's initial design (or a design file), the analytic gradient next to
// central differences with several step sizes, and the objective along the negative gradient.
// Chaotic rollouts make the two disagree at large steps; this measures where.
//
//   ./build/benchmarks/gradient_quality TASK.json [--model M] [--design D.json] [--threads N]
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "design/design_problem.h"
#include "simulator/learned/blas_kernels.h"
#include "simulator/learned/model_file.h"
#include "tasks/task_io.h"
#include "tasks/tool_geometry.h"

using namespace flowdesign;

int main(int argc, char** argv) {
  flowdesign::simulator::learned::RestartWithFittingOpenBlasKernels(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: gradient_quality TASK.json [--model M] [--design D.json] [--threads N]\n");
    return 2;
  }
  std::string model_path = "models/default/model.fdm", design_path;
  int threads = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--model") model_path = argv[i + 1];
    else if (arg == "--design") design_path = argv[i + 1];
    else if (arg == "--threads") threads = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", arg.c_str());
      return 2;
    }
  }
  const tasks::Task task = tasks::LoadTask(argv[1]);
  auto simulator = simulator::learned::LoadModel(model_path);
  simulator::learned::ConfigureTorchThreads(threads);
  const design::DesignProblem problem(task, *simulator);
  std::vector<double> x = tasks::InitialParameters(task);
  if (!design_path.empty()) x = tasks::LoadDesign(design_path, task).parameters;

  std::vector<double> gradient;
  const double value = problem.ValueAndGradient(x, &gradient);
  std::printf("smooth objective %.6f at the %s design\n\n", value, design_path.empty() ? "initial" : "given");
  std::printf("%-10s %12s", "parameter", "analytic");
  const std::vector<double> steps{0.1, 1.0, 5.0};  // in the parameter's units (degrees, metres for ramps' centres x 0.01)
  for (double h : steps) std::printf("   FD h=%-5g", h);
  std::printf("\n");
  for (int i = 0; i < problem.Dimension(); ++i) {
    std::printf("%-10d %12.4g", i, gradient[i]);
    const double scale = problem.UpperBounds()[i] - problem.LowerBounds()[i] > 2.0 ? 1.0 : 0.01;
    for (double h : steps) {
      std::vector<double> plus = x, minus = x;
      plus[i] += h * scale;
      minus[i] -= h * scale;
      std::printf("   %10.4g", (problem.Value(plus) - problem.Value(minus)) / (2 * h * scale));
    }
    std::printf("\n");
  }
  double norm = 0.0;
  for (double g : gradient) norm += g * g;
  norm = std::sqrt(norm);
  std::printf("\nalong the negative gradient (step = distance in parameter units):\n");
  for (double t : {0.1, 0.3, 1.0, 3.0, 10.0}) {
    std::vector<double> y = x;
    for (int i = 0; i < problem.Dimension(); ++i) y[i] -= t * gradient[i] / std::max(norm, 1e-30);
    const double v = problem.Value(y);
    std::printf("  step %5g: objective %.6f (linear prediction %.6f)\n", t, v, value - t * norm);
  }
  return 0;
}
