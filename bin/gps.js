#!/usr/bin/env node
// The `gps` command. tsx lets it import TypeScript experiment files directly.
// mujoco-js (an 11 MB bundle) is loaded before tsx's loader is registered, so
// tsx does not read and transform it on every start.
import "mujoco-js";
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
