// The ground truth's physics beyond a scene's geometry that a learned model learns: a data recipe
// chooses it, training records it in the model, and designs made with the model are checked in
// MPM with the same physics.
#pragma once

namespace flowdesign::simulator {

struct GroundTruthPhysics {
  // Kinematic shear viscosity (m^2/s): the deviatoric stress 2 mu dev(sym grad v). Damps the
  // particle-scale eddies that scramble neighbouring particles after an impact. 0 = none.
  double shear_viscosity_m2ps = 0.0;
  // Grid nodes near a solid take its slip boundary condition. Hard (false): every node within
  // half a cell of the surface, fully (where the staircase of such nodes lies depends on where the
  // solid sits on the grid). Soft: in proportion, from fully at the surface to not at all a cell
  // away, so the condition moves continuously with the solid.
  bool soft_solid_boundary = false;
};

}  // namespace flowdesign::simulator
