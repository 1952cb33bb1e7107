#!/usr/bin/env node
// The `keel` command runs the compiled CLI; `npm run build` (run by `npm install`
// through the `prepare` script) produces it.
import '../dist/cli/main.js';
