// Replays a cart-pole policy exported by `gps export <run> --policy` with bare mujoco-js (none of this
// project's code: the formula of docs/export-format.md and mj_step) and prints its cost over T steps.
// Usage: npx tsx bench/replay-cartpole-policy.mts policy.json [T]
import loadMujoco from "mujoco-js";
import { readFileSync } from "node:fs";
const e = JSON.parse(readFileSync(process.argv[2], "utf8"));
const T = Number(process.argv[3] ?? e.horizon);
const mj: any = await (loadMujoco as any)({ print: () => {}, printErr: () => {} });
mj.FS.writeFile("/m.xml", e.mjcf);
const model = mj.MjModel.loadFromXML("/m.xml");
const data = new mj.MjData(model);
const c = e.controller;
const sp = (v: number) => (v > 20 ? v : Math.log1p(Math.exp(v)));
const act = (x: number[]) => {
  const z = x.map((v, i) => (c.ignoredInputs?.includes(i) ? 0 : (v - c.inputMean[i]) / c.inputStd[i]));
  const h = c.layers[0].W.map((row: number[], j: number) => sp(row.reduce((s, w, i) => s + w * z[i], c.layers[0].b[j])));
  return c.layers[1].W.map((row: number[], j: number) => row.reduce((s, w, i) => s + w * h[i], c.layers[1].b[j]));
};
data.qpos.set(e.initialState.qpos); data.qvel.set(e.initialState.qvel); mj.mj_forward(model, data);
let cost = 0;
for (let t = 0; t < T; t++) {
  const x = [...data.qpos, ...data.qvel];
  const u = act(x);
  cost += (x[1] - Math.PI) ** 2 + 0.1 * x[0] ** 2 + 1e-2 * u[0] ** 2;
  data.ctrl.set(u);
  for (let s = 0; s < e.substeps; s++) mj.mj_step(model, data);
}
console.log(JSON.stringify({ T, cost: +cost.toFixed(3), final: [...data.qpos, ...data.qvel].map((v) => +v.toFixed(3)) }));
