#!/usr/bin/env node
// The published entry point: Node >= 22.12 strips TypeScript types, so the CLI runs from source.
import '../src/cli/main.ts';
