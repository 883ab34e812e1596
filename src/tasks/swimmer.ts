/**
 * The 3-link swimmer (2013 paper §6, 2014 paper §4): a planar chain of three
 * capsules in a viscous fluid, driven by torques at its two joints.
 *
 * The fluid is MuJoCo's inertia-box model (option density and viscosity):
 * each slender link meets far more drag sideways than along its axis, which
 * is what makes undulation propel the body. No gravity, no contacts. (The
 * ellipsoid fluid model was tried too: sinusoidal gaits swam ~3× slower.)
 *
 * State layout (nx = 10):
 *   x[0] qpos.rootx  x[1] qpos.rooty  x[2] qpos.rootrot  x[3] qpos.joint1  x[4] qpos.joint2
 *   x[5] qvel.rootx  x[6] qvel.rooty  x[7] qvel.rootrot  x[8] qvel.joint1  x[9] qvel.joint2
 * The chain lies along +x from the head at rest; the cost rewards +x root
 * velocity (x[5]), whichever way the body ends up pointing.
 */
import { locomotionCost } from "./cost.js";
import type { Task } from "./types.js";

export const SWIMMER_MJCF = `<mujoco model="gps-swimmer">
  <compiler angle="radian"/>
  <option timestep="0.01" integrator="implicitfast" density="4000" viscosity="0.1" gravity="0 0 0">
    <flag contact="disable"/>
  </option>
  <default>
    <geom type="capsule" size="0.1" density="1000" rgba="0.8 0.6 0.4 1"/>
    <joint type="hinge" axis="0 0 1" damping="0" armature="0.1"/>
    <motor ctrllimited="false" gear="1"/>
  </default>
  <worldbody>
    <body name="head" pos="0 0 0">
      <joint name="rootx" type="slide" axis="1 0 0" armature="0"/>
      <joint name="rooty" type="slide" axis="0 1 0" armature="0"/>
      <joint name="rootrot" type="hinge" axis="0 0 1" armature="0"/>
      <geom name="head" fromto="0 0 0 1 0 0"/>
      <body name="mid" pos="1 0 0">
        <joint name="joint1"/>
        <geom name="mid" fromto="0 0 0 1 0 0"/>
        <body name="tail" pos="1 0 0">
          <joint name="joint2"/>
          <geom name="tail" fromto="0 0 0 1 0 0"/>
        </body>
      </body>
    </body>
  </worldbody>
  <actuator>
    <motor name="joint1" joint="joint1"/>
    <motor name="joint2" joint="joint2"/>
  </actuator>
</mujoco>
`;

const SWIMMER_NX = 10;
const SWIMMER_NU = 2;

export const swimmerTask: Task = {
  name: "swimmer",
  mjcf: SWIMMER_MJCF,
  substeps: 5,
  dt: 0.05,
  nx: SWIMMER_NX,
  nu: SWIMMER_NU,
  stateLayout: { qpos: [0, 1, 2, 3, 4], qvel: [0, 1, 2, 3, 4] },
  stateNames: ["qpos", "qvel"].flatMap((q) => ["rootx", "rooty", "rootrot", "joint1", "joint2"].map((n) => `${q}.${n}`)),
  actionNames: ["joint1", "joint2"],
  restState: new Float64Array(SWIMMER_NX),
  forwardVelocityIndex: 5,
  heightIndex: -1,
  cost: locomotionCost(SWIMMER_NX, SWIMMER_NU, {
    wu: 1e-4,
    wv: 1,
    wh: 0,
    targetVelocity: 2,
    targetHeight: 0,
    velocityIndex: 5,
    heightIndex: -1,
  }),
};
