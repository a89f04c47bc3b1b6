// L-BFGS: Ceres' GradientProblemSolver on the tanh-transformed parameters.
#include "design/lbfgs.h"

#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include <ceres/ceres.h>

#include "design/bounded_transform.h"

namespace flowdesign::design {
namespace {

// What the Ceres function and callback share: the run, the transform, the last gradient
// evaluation (to report the value at the final point) and an exception to rethrow.
struct LbfgsContext {
  OptimizerRun* run = nullptr;
  const BoundedTransform* transform = nullptr;
  std::vector<double> last_z;  // the z of the last successful evaluation
  double last_value = 0.0;
  bool has_last = false;
  std::vector<double> last_reported_z;  // the point of the last record (or the start)
  std::exception_ptr error;
};

class TransformedFunction final : public ceres::FirstOrderFunction {
 public:
  explicit TransformedFunction(LbfgsContext* context) : context_(context) {}

  int NumParameters() const override { return context_->run->dimension(); }

  bool Evaluate(const double* z, double* cost, double* gradient) const override {
    if (context_->error) return false;
    const int n = NumParameters();
    for (int i = 0; i < n; ++i) {
      if (std::isnan(z[i])) return false;  // never hand a NaN point to the problem
    }
    try {
      std::vector<double> x(n);
      context_->transform->XFromZ(z, x.data());
      double value = 0.0;
      if (gradient != nullptr) {
        std::vector<double> gradient_x;
        value = context_->run->ValueAndGradient(x, &gradient_x);
        context_->run->SetInitialValue(value);
        for (double g : gradient_x) {
          if (!std::isfinite(g)) return false;
        }
        if (!std::isfinite(value)) return false;
        context_->transform->GradientZFromX(z, gradient_x.data(), gradient);
        for (int i = 0; i < n; ++i) {
          if (!std::isfinite(gradient[i])) return false;
        }
      } else {
        value = context_->run->Value(x);
        context_->run->SetInitialValue(value);
        if (!std::isfinite(value)) return false;
      }
      context_->run->Offer(x, value);
      context_->last_z.assign(z, z + n);
      context_->last_value = value;
      context_->has_last = true;
      *cost = value;
      return true;
    } catch (...) {
      context_->error = std::current_exception();
      return false;
    }
  }

 private:
  LbfgsContext* context_;
};

class RecordingCallback final : public ceres::IterationCallback {
 public:
  RecordingCallback(LbfgsContext* context, const double* z) : context_(context), z_(z) {}

  ceres::CallbackReturnType operator()(const ceres::IterationSummary& summary) override {
    if (context_->error) return ceres::SOLVER_ABORT;
    if (summary.iteration == 0) return ceres::SOLVER_CONTINUE;  // the starting point
    try {
      // update_state_every_iteration has copied the current point into z_ already.
      const std::vector<double> z(z_, z_ + context_->run->dimension());
      context_->last_reported_z = z;
      if (!context_->run->EndIteration(summary.cost, context_->transform->XFromZ(z),
                                       nlohmann::json::object())) {
        return ceres::SOLVER_TERMINATE_SUCCESSFULLY;
      }
    } catch (...) {
      context_->error = std::current_exception();
      return ceres::SOLVER_ABORT;
    }
    return ceres::SOLVER_CONTINUE;
  }

 private:
  LbfgsContext* context_;
  const double* z_;
};

}  // namespace

void LbfgsOptimizer::Run(OptimizerRun* run) const {
  const OptimizerOptions& options = run->options();
  const BoundedTransform transform(run->lower(), run->upper());
  // A fresh run starts at x0; a resumed one at the best x of the state.
  std::vector<double> z =
      transform.ZFromX(run->next_iteration() > 0 ? run->best_x() : run->x0());

  LbfgsContext context;
  context.run = run;
  context.transform = &transform;
  context.last_reported_z = z;
  RecordingCallback callback(&context, z.data());

  ceres::GradientProblemSolver::Options solver_options;
  solver_options.line_search_direction_type = ceres::LBFGS;
  solver_options.max_lbfgs_rank = options.lbfgs_memory;
  // Every evaluation is a whole rollout with its gradient (seconds); on these non-smooth
  // objectives Ceres' default of 20 line-search steps made one iteration take 15+ rollouts.
  solver_options.max_num_line_search_step_size_iterations = 6;
  solver_options.max_num_iterations = options.iterations - run->next_iteration();
  solver_options.logging_type = ceres::SILENT;
  solver_options.minimizer_progress_to_stdout = false;
  solver_options.update_state_every_iteration = true;
  solver_options.callbacks.push_back(&callback);

  ceres::GradientProblem problem(new TransformedFunction(&context));  // Ceres owns it
  ceres::GradientProblemSolver::Summary solver_summary;
  ceres::Solve(solver_options, problem, z.data(), &solver_summary);
  if (context.error) std::rethrow_exception(context.error);

  switch (solver_summary.termination_type) {
    case ceres::NO_CONVERGENCE:
      return;  // max iterations (or max time, which is not set): the run's default
    case ceres::USER_SUCCESS:
      return;  // stopped by the callback
    case ceres::CONVERGENCE: {
      // Ceres skips the callbacks of the iteration that converged; record it here unless the
      // solve converged at its starting point (no step at all).
      const bool stepped = z != context.last_reported_z;
      if (stepped && !run->done()) {
        // On convergence z holds the accepted point, the last one Ceres evaluated with its
        // gradient.
        const std::vector<double> x = transform.XFromZ(z);
        const double value = context.has_last && context.last_z == z ? context.last_value
                                                                     : run->Value(x);
        run->Offer(x, value);
        run->EndIteration(value, x, nlohmann::json::object());
      }
      run->SetTermination(OptimizerTermination::kConverged,
                          "converged (Ceres: " + solver_summary.message + ")");
      return;
    }
    default:
      run->SetTermination(OptimizerTermination::kFailure,
                          "failed (Ceres: " + solver_summary.message + ")");
      return;
  }
}

}  // namespace flowdesign::design
