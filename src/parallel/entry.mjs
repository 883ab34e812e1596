// A worker thread of a pool (./pool.ts) starts here. Like bin/gps.js it loads
// mujoco-js before registering tsx (so tsx does not transform the 11 MB
// bundle), then runs the TypeScript module given in workerData.
import "mujoco-js";
import { register } from "tsx/esm/api";
import { workerData } from "node:worker_threads";

register();
await import(workerData.main);
