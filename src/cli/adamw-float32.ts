// The command's AdamW. It was a float32-specialised update loop while optim.AdamW ran a generic
// TypeScript loop (27-55 ms per step for the default transformer); optim.AdamW now runs the fused
// native adamStep kernel (0.3 ms, same bits), so this is optim.AdamW itself. train.ts can import
// AdamW from ../optim/adam.js directly and this file can go.
export { AdamW as AdamWFloat32 } from '../optim/adam.js';
