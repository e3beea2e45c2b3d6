// Benchmark only (bench/node-runtimes.ts --pretend-supported): lets the runtime guard pass on a Node.js
// outside engines.node, so the previous runtime can be measured as a baseline with the same build. Never
// used by the product, its tests or its image.
'use strict';
Object.defineProperty(process, 'version', { value: 'v24.11.0' });
