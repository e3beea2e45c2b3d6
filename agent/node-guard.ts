// Imported first by the entry points (agent/main.ts, instrumentation.ts): ES modules evaluate their imports
// in order, so this runs before any dependency that may not load on an unsupported Node.js.
import { exitOnUnsupportedNode } from './node-support';

exitOnUnsupportedNode();
