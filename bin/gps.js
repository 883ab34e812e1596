#!/usr/bin/env node
// The `gps` command. tsx lets it import TypeScript experiment files directly,
// as ES modules or, in a folder whose package.json does not say "type":
// "module", as CommonJS (both hooks are registered, so an experiment file
// anywhere can import the library by name).
// mujoco-js (an 11 MB bundle) is loaded before tsx's loader is registered, so
// tsx does not read and transform it on every start.
import "mujoco-js";
import { register } from "tsx/esm/api";
import { register as registerCommonJs } from "tsx/cjs/api";

register();
registerCommonJs();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
