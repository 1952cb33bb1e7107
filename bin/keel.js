#!/usr/bin/env -S node --initial-old-space-size=128 --max-semi-space-size=32
// The `keel` command runs the compiled CLI, with the Node.js flags of
// src/server/node-runtime-flags.ts; `npm run build` (run by `npm install` through the
// `prepare` script) produces it.
import '../dist/cli/main.js';
