#!/usr/bin/env node
// The `gps` command. tsx lets it import TypeScript experiment files directly.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
